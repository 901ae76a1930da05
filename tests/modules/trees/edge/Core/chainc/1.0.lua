setenv("CHAINC", "yes")
prepend_path("PATH", "/opt/chainc/bin")
