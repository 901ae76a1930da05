load("blas/1")
load("fft/1")
setenv("STACK_FOR", "lang2")
