setenv("IN_B", "1")
