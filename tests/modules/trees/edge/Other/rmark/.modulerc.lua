module_version("rmark/2.0", "default")
