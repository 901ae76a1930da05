setenv("ORD", "1.9")
