module_version("pin/1.0", "default")
