setenv("ORD", "1.10-rc1")
