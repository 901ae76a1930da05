setenv("DUPMARK", "other-1.0")
