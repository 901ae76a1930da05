setenv("PY_VERSION", myModuleVersion())
