"""The environment-change type and its renderers (shell code, os.environ, JSON, modulefiles)."""
