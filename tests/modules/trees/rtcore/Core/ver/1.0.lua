setenv("VER", "1.0")
