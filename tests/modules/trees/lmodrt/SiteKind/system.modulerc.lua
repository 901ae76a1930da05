module_version("era/2016", "default")
