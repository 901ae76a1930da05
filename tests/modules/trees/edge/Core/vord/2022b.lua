setenv("VORD", "2022b")
