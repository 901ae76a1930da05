hide_version("suite/.beta/7.1")
