prepend_path("TILDE_BIN", "~/bin")
setenv("TILDE_KEPT", "~/as-is")
