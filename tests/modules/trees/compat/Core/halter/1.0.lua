load("halts")
setenv("HALTER", "1")
