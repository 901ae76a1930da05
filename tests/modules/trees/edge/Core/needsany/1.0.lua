prereq_any("refa", "refb")
setenv("NEEDSANY", "yes")
