setenv("LIB_VERSION", "3.0")
