whatis("CMake 3.27.7")
prepend_path("PATH", "/opt/site/cmake/3.27.7/bin")
setenv("CMAKE_VERSION_LOADED", myModuleVersion())
