load("dep/9.9", "bringer/1.0")
setenv("APP", "1")
