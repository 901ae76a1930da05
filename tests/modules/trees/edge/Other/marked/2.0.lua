setenv("MARKED", "other-2.0")
