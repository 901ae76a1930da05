prepend_path("MODULEPATH", pathJoin(os.getenv("COMPAT_ROOT"), "Extra"))
load("leaf")
