setenv("TOOL_AT", "compA")
