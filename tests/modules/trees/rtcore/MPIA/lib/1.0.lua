setenv("LIB_BUILT_WITH", "compA")
