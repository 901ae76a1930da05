setenv("ORD", "1.2.3")
