setenv("VORD", "r9")
