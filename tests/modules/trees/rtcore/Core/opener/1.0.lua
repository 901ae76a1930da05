prepend_path("MODULEPATH", pathJoin("@ROOT@", "Extra"))
load("inner")
