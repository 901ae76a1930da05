setenv("TOOL_AT", "Core")
