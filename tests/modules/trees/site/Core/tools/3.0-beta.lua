whatis("tools (beta)")
setenv("TOOLS_VERSION", "3.0-beta")
