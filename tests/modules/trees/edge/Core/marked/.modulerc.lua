module_version("marked/1.0", "default")
