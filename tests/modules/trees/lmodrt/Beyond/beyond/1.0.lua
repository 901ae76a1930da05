setenv("BEYOND", "yes")
