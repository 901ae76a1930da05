setenv("LADDER", "5.0.3")
