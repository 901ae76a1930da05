-- The site's full Python: the interpreter plus a few common packages.
whatis("Name: Python")
whatis("Version: 3.10.4")
whatis("Description: Python with pip, setuptools, wheel, virtualenv")
help([[
Python 3.10.4 with pip, setuptools and virtualenv.
Use python-scientific for numpy/scipy.
]])
local root = "/opt/site/python/3.10.4"
setenv("EBROOTPYTHON", root)
setenv("EBVERSIONPYTHON", myModuleVersion())
prepend_path("PATH", pathJoin(root, "bin"))
prepend_path("LD_LIBRARY_PATH", pathJoin(root, "lib"))
prepend_path("MANPATH", pathJoin(root, "share/man"))
prepend_path("PKG_CONFIG_PATH", pathJoin(root, "lib/pkgconfig"))
setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
