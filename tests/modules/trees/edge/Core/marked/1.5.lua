setenv("MARKED", "core-1.5")
