setenv("DEP", "1.0")
