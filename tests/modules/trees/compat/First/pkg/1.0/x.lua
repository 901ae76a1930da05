setenv("PKG", "first-1.0")
