setenv("IN_A", "1")
