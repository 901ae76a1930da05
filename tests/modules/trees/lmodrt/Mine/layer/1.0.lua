setenv("LAYER_MINE", "yes")
inherit()
