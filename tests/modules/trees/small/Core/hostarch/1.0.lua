local lines = subprocess("echo x86_64; echo avx2")
setenv("HOSTARCH_FIRST", (lines:gsub("\n.*", "")))
setenv("HOSTARCH_ALL", (lines:gsub("\n$", ""):gsub("\n", ",")))
