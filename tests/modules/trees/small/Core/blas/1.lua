setenv("BLAS_LEVEL", "1")
