prepend_path("MODULEPATH", "@ROOT@/Lang3")
