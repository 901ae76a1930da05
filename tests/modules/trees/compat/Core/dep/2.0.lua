setenv("DEP", "2.0")
