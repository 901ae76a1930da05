conflict("lib/1.0")
setenv("CONFVER", "yes")
