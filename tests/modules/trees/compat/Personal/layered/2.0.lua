inherit()
setenv("LAYER_PERSONAL", "personal")
