module_version("py/3.8.10", "default")
