add_property("lmod", "sticky")
setenv("ANCHOR", "1")
