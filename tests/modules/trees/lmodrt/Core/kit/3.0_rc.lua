setenv("KIT_VERSION", myModuleVersion())
