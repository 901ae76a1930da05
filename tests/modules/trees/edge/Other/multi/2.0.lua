setenv("MULTI", "other-2.0")
