setenv("PKG", "other-1.5")
