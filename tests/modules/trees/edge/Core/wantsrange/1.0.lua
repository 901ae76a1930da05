load(between("lib", "1.0", "2.0"))
