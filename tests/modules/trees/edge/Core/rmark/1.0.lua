setenv("RMARK", "core-1.0")
