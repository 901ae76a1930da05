setenv("ERA", myModuleVersion())
