-- Prepends a directory the user already has in PATH.
prepend_path("PATH", "/usr/bin")
