load(atleast("lib", "2.0"))
