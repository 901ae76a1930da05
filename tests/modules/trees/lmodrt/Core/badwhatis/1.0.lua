whatis(42)
setenv("BADWHATIS", "loaded")
