setenv("DUP", "other")
