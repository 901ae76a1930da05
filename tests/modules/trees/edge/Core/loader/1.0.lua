-- load() (not depends_on): unloading loader unloads refa too.
load("refa")
setenv("LOADER", "yes")
