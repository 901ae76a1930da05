family("legacytool")
