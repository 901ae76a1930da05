-- refa and refb add the same directory: it stays until both are unloaded (reference counts).
setenv("REFA", "1")
prepend_path("PATH", "/opt/shared/bin")
prepend_path("MANPATH", "/opt/shared/man")
