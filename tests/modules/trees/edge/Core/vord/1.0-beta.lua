setenv("VORD", "1.0-beta")
