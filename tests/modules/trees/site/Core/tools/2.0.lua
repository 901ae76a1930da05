whatis("tools")
setenv("TOOLS_VERSION", "2.0")
prepend_path("PATH", "/opt/site/tools/2.0/bin")
