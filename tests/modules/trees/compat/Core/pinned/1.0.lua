setenv("PINNED", "1.0")
