setenv("PKG", "first-2.0")
