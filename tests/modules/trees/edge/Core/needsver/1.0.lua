prereq("lib/2.0")
setenv("NEEDSVER", "yes")
