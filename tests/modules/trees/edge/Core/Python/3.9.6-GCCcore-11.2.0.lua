setenv("EB_PYTHON", "3.9.6-GCCcore-11.2.0")
