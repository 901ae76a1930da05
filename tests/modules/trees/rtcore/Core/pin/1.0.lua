setenv("PIN", "1.0")
