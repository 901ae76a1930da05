setenv("HDF_FROM", "First")
