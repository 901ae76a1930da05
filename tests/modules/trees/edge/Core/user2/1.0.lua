depends_on("shared")
setenv("USER2", "yes")
