setenv("BLAS", "1.26 in Core")
