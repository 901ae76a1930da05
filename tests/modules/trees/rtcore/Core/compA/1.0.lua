prepend_path("MODULEPATH", pathJoin("@ROOT@", "CompA"))
family("compiler")
