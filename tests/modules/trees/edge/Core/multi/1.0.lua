setenv("MULTI", "core-1.0")
