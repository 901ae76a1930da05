setenv("TWOMARKS", "core-1.0")
