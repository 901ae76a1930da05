setenv("REFB", "1")
prepend_path("PATH", "/opt/shared/bin")
append_path("MANPATH", "/opt/shared/man")
prepend_path("PATH", "/opt/refb/bin")
