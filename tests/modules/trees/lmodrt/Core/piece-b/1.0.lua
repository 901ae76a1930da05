setenv("PIECE_B", myModuleVersion())
