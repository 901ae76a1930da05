-- A bare interpreter: no packages beyond the standard library.
whatis("Name: Python")
whatis("Version: 3.10.4")
whatis("Description: Python interpreter only (no extra packages)")
help([[Python 3.10.4 without site packages.]])
local root = "/opt/site/python/3.10.4-bare"
setenv("EBROOTPYTHON", root)
setenv("EBVERSIONPYTHON", "3.10.4")
prepend_path("PATH", pathJoin(root, "bin"))
prepend_path("LD_LIBRARY_PATH", pathJoin(root, "lib"))
prepend_path("MANPATH", pathJoin(root, "share/man"))
