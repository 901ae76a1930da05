if mode() == "load" then requireFullName() end
setenv("EXACT", "1.0")
