setenv("SHARED_LOADED", "yes")
prepend_path("PATH", "/opt/shareddep/bin")
