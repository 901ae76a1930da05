add_property("lmod", "sticky")
setenv("STICKY", "yes")
