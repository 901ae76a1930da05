setenv("BROKEN", "before the error")
if then end end
