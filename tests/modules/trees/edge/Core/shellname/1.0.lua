setenv("SHELL_NAME_SEEN", myShellName())
setenv("SHELL_TYPE_SEEN", myShellType())
