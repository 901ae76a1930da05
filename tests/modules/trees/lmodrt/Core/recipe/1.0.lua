setenv("RECIPE", "a")
