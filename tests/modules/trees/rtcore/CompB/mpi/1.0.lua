prepend_path("MODULEPATH", pathJoin("@ROOT@", "MPIB"))
setenv("MPI_ROOT", "/opt/compB/mpi")
