module_version("rmark/r9", "default")
