setenv("RESERVED", "1")
