setenv("SYMVER", "1.0")
setenv("SYMVER_USER_NAME", myModuleUsrName())
