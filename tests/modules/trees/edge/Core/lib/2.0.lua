setenv("LIB_VERSION", "2.0")
