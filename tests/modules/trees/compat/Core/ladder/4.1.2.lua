setenv("LADDER", "4.1.2")
