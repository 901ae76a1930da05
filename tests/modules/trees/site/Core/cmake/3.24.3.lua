whatis("CMake 3.24.3")
prepend_path("PATH", "/opt/site/cmake/3.24.3/bin")
setenv("CMAKE_VERSION_LOADED", myModuleVersion())
