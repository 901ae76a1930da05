depends_on("chainb")
setenv("CHAINA", "yes")
