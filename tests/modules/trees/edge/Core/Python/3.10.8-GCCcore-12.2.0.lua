setenv("EB_PYTHON", "3.10.8-GCCcore-12.2.0")
