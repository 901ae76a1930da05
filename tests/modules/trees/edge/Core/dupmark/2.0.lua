setenv("DUPMARK", "core-2.0")
