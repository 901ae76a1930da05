setenv("PIN", "2.0")
