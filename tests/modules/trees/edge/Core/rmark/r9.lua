setenv("RMARK", "core-r9")
