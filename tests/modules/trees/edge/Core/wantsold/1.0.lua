load(atleast("lib", "4.0"))
