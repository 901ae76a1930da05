setenv("PINNED", "2.0")
