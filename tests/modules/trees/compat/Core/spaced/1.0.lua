setenv("SPACED ", "1")
setenv(" SPACED_TOO ", "2")
prepend_path(" SPACED_PATH", "/opt/spaced")
