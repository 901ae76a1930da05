setenv("RMARK", "other-3.0")
