prepend_path("SEARCHPATH", pathJoin("/opt/tex", "styles") .. "//")
prepend_path("SEARCHPATH", "/opt/other//")
append_path("SEARCHPATH", "/opt/plain/")
