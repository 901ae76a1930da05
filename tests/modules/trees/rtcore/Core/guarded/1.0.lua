setenv("GUARDED", "1.0")
