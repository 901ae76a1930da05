setenv("DUPMARK", "core-1.0")
