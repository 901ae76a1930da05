-- unload() in a modulefile: loading this unloads refa; unloading it does not bring refa back.
unload("refa")
setenv("UNLOADER", "yes")
