-- family() last: what this file set must survive the swap that replaces the other member
prepend_path("PATH", "/opt/famb/bin")
setenv("TOOL_HOME", "/opt/famb")
family("tool")
