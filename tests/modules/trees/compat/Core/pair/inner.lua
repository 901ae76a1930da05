setenv("PAIR_INNER", "1")
