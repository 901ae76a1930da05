setenv("TWOMARKS", "other-3.0")
