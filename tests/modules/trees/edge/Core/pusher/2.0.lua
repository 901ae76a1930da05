pushenv("EDITOR_X", "emacs")
