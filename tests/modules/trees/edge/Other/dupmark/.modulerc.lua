module_version("dupmark/1.0", "default")
