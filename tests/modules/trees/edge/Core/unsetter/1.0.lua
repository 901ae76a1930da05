unsetenv("UNSET_ME")
setenv("UNSETTER_LOADED", "yes")
