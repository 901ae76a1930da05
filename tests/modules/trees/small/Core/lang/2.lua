prepend_path("MODULEPATH", "@ROOT@/Lang2")
