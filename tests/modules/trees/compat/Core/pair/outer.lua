load("pair/inner")
setenv("PAIR_OUTER", "1")
