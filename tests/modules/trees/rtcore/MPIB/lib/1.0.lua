setenv("LIB_BUILT_WITH", "compB")
