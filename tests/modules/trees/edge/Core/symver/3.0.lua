setenv("SYMVER", "3.0")
setenv("SYMVER_USER_NAME", myModuleUsrName())
