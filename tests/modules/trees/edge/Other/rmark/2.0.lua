setenv("RMARK", "other-2.0")
