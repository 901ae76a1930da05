setenv("MARKED", "core-1.0")
