family("toolchain")
setenv("TOOLCHAIN", "fama")
