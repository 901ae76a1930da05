setenv("KEEP_A", "from the module")
setenv("KEEP_B", "from the module")
setenv("FREE_C", "from the module")
