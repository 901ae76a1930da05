family("mpi")
prepend_path("MODULEPATH", pathJoin(os.getenv("LMODRT_ROOT"), "Mpi", "beta"))
setenv("MPILIB_BUILD", "beta")
