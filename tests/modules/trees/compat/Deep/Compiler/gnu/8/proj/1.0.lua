local levels = hierarchyA(myModuleFullName(), 1)
setenv("PROJ_BUILT_WITH", levels[1])
