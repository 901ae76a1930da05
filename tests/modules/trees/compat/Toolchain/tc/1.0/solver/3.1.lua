add_property("lmod", "sticky")
setenv("SOLVER", "3.1")
