family("suite")
setenv("SUITE_NAME", myModuleName())
setenv("SUITE_VERSION", myModuleVersion())
