setenv("EMPTY_VALUE", "")
prepend_path("EMPTY_PATH_ENTRY", "")
-- The idiom that keeps the system man pages: an empty entry in MANPATH.
prepend_path("MANPATH", "/opt/empty/man")
append_path("MANPATH", "")
