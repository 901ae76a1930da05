family("my-toolchain")
setenv("FAMDASH", "yes")
