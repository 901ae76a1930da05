setenv("LIB_ARCH", "ArchA")
