setenv("EDITOR_X", "from-setenv")
