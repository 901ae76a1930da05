setenv("SOLVER_HOME", "/opt/solver")
