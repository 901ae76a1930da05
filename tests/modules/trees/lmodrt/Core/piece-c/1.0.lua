setenv("PIECE_C", myModuleVersion())
