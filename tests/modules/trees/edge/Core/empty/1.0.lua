setenv("EMPTY_VALUE", "")
prepend_path("EMPTY_PATH_ENTRY", "")
