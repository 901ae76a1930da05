pushenv("EDITOR_X", "vim-from-pushother")
