setenv("PIECE_A", myModuleVersion())
