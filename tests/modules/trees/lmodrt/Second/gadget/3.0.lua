setenv("GADGET_VERSION", myModuleVersion())
