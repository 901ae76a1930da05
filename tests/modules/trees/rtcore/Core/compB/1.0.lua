prepend_path("MODULEPATH", pathJoin("@ROOT@", "CompB"))
family("compiler")
