setenv("ONLYOTHER", "yes")
