try_load("nosuchmodule")
setenv("TRYMISS", "loaded anyway")
