setenv("KEPT", "one")
