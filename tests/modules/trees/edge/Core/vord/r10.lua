setenv("VORD", "r10")
