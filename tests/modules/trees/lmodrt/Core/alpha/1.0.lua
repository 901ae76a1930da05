family("compiler")
prepend_path("MODULEPATH", pathJoin(os.getenv("LMODRT_ROOT"), "Comp", "alpha"))
setenv("ALPHA_HOME", "/opt/alpha")
