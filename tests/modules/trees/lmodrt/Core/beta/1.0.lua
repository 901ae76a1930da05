family("compiler")
prepend_path("MODULEPATH", pathJoin(os.getenv("LMODRT_ROOT"), "Comp", "beta"))
setenv("BETA_HOME", "/opt/beta")
