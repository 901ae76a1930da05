whatis("Name: FFTW")
help([[FFTW 3.3.10 for gcc/12.2.0 + openmpi/4.1.5.]])
local root = "/opt/site/gcc-12.2.0/openmpi-4.1.5/fftw/3.3.10"
setenv("FFTW_ROOT", root)
prepend_path("LD_LIBRARY_PATH", pathJoin(root, "lib"))
prepend_path("CPATH", pathJoin(root, "include"))
