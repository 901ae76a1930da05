setenv("SHARED_SETTING", "from seta")
