setenv("NILENV_BEFORE", "yes")
setenv("NILENV", os.getenv("LMODRT_NEVER_SET"))
