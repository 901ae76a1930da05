family("toolchain")
setenv("TOOLCHAIN", "famb")
