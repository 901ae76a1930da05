set_alias("ll_roost", "ls -l --color=never")
set_alias("quoted_alias", [[echo "it's $HOME"]])
set_shell_function("roost_hello", 'echo "hello $1"', 'echo hello $1')
setenv("ALIASES_LOADED", "yes")
