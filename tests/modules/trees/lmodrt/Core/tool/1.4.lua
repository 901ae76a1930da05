setenv("TOOL_VERSION", myModuleVersion())
