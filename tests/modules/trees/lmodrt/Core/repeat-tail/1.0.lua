append_path("REPEAT_LIST", "/opt/one")
append_path("REPEAT_LIST", "/opt/user")
