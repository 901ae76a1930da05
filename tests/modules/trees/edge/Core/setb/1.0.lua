setenv("SHARED_SETTING", "from setb")
