load("nosuchmodule")
setenv("LOADMISS", "should not appear")
