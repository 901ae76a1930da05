setenv("BLAS", "1.31 for compA")
