pushenv("EDITOR_X", "nano")
