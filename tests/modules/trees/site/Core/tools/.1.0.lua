whatis("tools (old, hidden)")
setenv("TOOLS_VERSION", "1.0")
