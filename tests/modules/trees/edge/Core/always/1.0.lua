always_load("refa")
setenv("ALWAYS", "yes")
