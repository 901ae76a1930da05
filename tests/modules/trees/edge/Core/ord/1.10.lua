setenv("ORD", "1.10")
