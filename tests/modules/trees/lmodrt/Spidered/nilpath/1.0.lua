prepend_path("NILPATH_LIST", os.getenv("LMODRT_NEVER_SET"))
prepend_path("MODULEPATH", pathJoin(os.getenv("LMODRT_ROOT"), "Beyond"))
setenv("NILPATH", "after")
