prepend_path("MODULEPATH", pathJoin(os.getenv("LMODRT_ROOT"), "ArchB", "Compiler", "cc", "1.0"))
