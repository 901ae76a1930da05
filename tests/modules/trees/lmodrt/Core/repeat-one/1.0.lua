prepend_path("REPEAT_LIST", "/opt/one")
