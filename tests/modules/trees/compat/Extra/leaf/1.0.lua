setenv("LEAF", "1")
