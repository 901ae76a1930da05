setenv("LAYER_SITE", "site")
prepend_path("LAYER_PATH", "/site/bin")
