-- What EasyBuild generates: a self-conflict, dependencies loaded behind an isloaded() guard, extensions.
help([==[

Description
===========
Bundle of Python packages for scientific software


More information
================
 - Homepage: https://python.org/
]==])

whatis([==[Description: Bundle of Python packages for scientific software]==])
whatis([==[Homepage: https://python.org/]==])
whatis([==[URL: https://python.org/]==])
whatis([==[Extensions: numpy-1.24.2, pandas-1.5.3, scipy-1.10.1]==])

local root = "/opt/site/software/SciPy-bundle/2023.02"

conflict("scipy-bundle")

if not ( isloaded("python/3.10.4") ) then
    load("python/3.10.4")
end

prepend_path("CMAKE_PREFIX_PATH", root)
prepend_path("PATH", pathJoin(root, "bin"))
prepend_path("PYTHONPATH", pathJoin(root, "lib/python3.10/site-packages"))
setenv("EBROOTSCIPYMINBUNDLE", root)
setenv("EBVERSIONSCIPYMINBUNDLE", "2023.02")
setenv("EBDEVELSCIPYMINBUNDLE", pathJoin(root, "easybuild/Core-scipy-bundle-2023.02-easybuild-devel"))

extensions("numpy/1.24.2,pandas/1.5.3,scipy/1.10.1")
