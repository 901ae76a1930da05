-- Adds a module directory at the end of MODULEPATH.
append_path("MODULEPATH", "@ROOT@/Other")
