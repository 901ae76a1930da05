conflict("refa")
setenv("CONF", "yes")
