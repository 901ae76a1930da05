hide_version("tools/3.0-beta")
