-- The same entry added twice by one module.
prepend_path("TWICE_PATH", "/opt/twice/a")
prepend_path("TWICE_PATH", "/opt/twice/b")
prepend_path("TWICE_PATH", "/opt/twice/a")
