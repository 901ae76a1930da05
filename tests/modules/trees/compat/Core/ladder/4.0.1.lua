setenv("LADDER", "4.0.1")
