append_path("PATH", "")
append_path("MANPATH", "")
prepend_path("EMPTY_FRONT", "")
