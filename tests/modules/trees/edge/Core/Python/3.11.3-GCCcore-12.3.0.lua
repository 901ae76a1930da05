setenv("EB_PYTHON", "3.11.3-GCCcore-12.3.0")
