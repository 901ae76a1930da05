setenv("VORD", "1.0a")
