load("blas/1")
setenv("STACK_FOR", "lang3")
