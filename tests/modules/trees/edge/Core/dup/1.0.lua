setenv("DUP", "core")
