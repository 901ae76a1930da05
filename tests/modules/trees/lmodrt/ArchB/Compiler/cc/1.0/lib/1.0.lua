setenv("LIB_ARCH", "ArchB")
