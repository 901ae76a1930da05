-- Lua prereq with several names: all of them are required.
prereq("refa", "refb")
setenv("NEEDSBOTH", "yes")
