remove_path("PATH", "/usr/local/bin")
remove_path("REMOVE_LIST", "b")
