setenv("LIB_VERSION", "1.0")
