setenv("SYMVER", "2.0")
setenv("SYMVER_USER_NAME", myModuleUsrName())
