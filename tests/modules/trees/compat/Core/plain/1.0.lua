setenv("PLAIN", "1")
