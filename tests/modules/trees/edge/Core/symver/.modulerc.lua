module_version("symver/2.0", "stable")
module_version("symver/3.0", "testing")
module_alias("sv", "symver/stable")
