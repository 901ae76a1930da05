prepend_path("LAYER_PATH", "/opt/shared/layer/bin")
setenv("LAYER_SHARED", "yes")
