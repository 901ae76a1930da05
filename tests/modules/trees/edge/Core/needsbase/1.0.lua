prereq("refa")
setenv("NEEDSBASE", "yes")
