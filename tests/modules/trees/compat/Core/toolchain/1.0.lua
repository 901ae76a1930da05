prepend_path("MODULEPATH", pathJoin(os.getenv("COMPAT_ROOT"), "Toolchain/tc/1.0"))
setenv("TOOLCHAIN", "1")
