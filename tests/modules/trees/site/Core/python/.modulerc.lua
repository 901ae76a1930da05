module_version("python/3.10.4", "default")
module_alias("py3", "python/3.10.4")
