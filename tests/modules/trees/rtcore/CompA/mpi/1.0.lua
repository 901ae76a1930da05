prepend_path("MODULEPATH", pathJoin("@ROOT@", "MPIA"))
setenv("MPI_ROOT", "/opt/compA/mpi")
