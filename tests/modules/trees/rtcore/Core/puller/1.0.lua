load("ver/2.0")
