module_version("era/2020", "default")
