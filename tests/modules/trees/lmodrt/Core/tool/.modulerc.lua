module_version("tool/1.2", "default")
