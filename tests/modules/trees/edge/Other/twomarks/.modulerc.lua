module_version("twomarks/1.5", "default")
