depends_on("shared")
setenv("USER1", "yes")
