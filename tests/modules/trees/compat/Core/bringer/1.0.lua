load("dep/1.0")
setenv("BRINGER", "1")
