depends_on("chainc")
setenv("CHAINB", "yes")
