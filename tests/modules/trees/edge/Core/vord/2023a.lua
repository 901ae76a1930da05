setenv("VORD", "2023a")
