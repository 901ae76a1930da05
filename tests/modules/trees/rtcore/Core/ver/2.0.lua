setenv("VER", "2.0")
