setenv("GUARDED", "2.0")
