setenv("INNER", "1")
