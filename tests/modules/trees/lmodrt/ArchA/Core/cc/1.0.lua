prepend_path("MODULEPATH", pathJoin(os.getenv("LMODRT_ROOT"), "ArchA", "Compiler", "cc", "1.0"))
