setenv("TWOMARKS", "other-1.5")
