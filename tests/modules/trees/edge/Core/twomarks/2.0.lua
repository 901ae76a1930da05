setenv("TWOMARKS", "core-2.0")
