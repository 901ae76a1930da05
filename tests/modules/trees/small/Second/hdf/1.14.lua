setenv("HDF_FROM", "Second")
