setenv("OTHER_LOADED", "yes")
