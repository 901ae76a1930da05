-- An EasyBuild-style toolchain: loading it loads the compiler, then the MPI that the compiler makes visible.
whatis("Name: foss")
whatis("Description: GCC 12.2.0 + Open MPI 4.1.5 toolchain")
load("gcc/12.2.0")
load("openmpi/4.1.5")
setenv("EBROOTFOSS", "/opt/site/foss/2022a")
