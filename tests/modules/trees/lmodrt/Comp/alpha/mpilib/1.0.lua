family("mpi")
prepend_path("MODULEPATH", pathJoin(os.getenv("LMODRT_ROOT"), "Mpi", "alpha"))
setenv("MPILIB_BUILD", "alpha")
