-- family() last: what this file set must survive the swap that replaces the other member
prepend_path("PATH", "/opt/fama/bin")
setenv("TOOL_HOME", "/opt/fama")
family("tool")
