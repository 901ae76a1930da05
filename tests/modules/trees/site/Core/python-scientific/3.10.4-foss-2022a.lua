whatis("Name: python-scientific")
whatis("Description: numpy and scipy on top of python/3.10.4")
help([[Scientific Python bundle: numpy 1.26.4, scipy 1.11.4.]])
extensions("numpy/1.26.4, scipy/1.11.4")
depends_on("python/3.10.4")
local root = "/opt/site/python-scientific/3.10.4-foss-2022a"
prepend_path("PYTHONPATH", pathJoin(root, "lib/python3.10/site-packages"))
prepend_path("PATH", pathJoin(root, "bin"))
setenv("EBROOTPYTHONMINSCIENTIFIC", root)
