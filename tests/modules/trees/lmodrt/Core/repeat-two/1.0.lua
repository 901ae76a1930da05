prepend_path("REPEAT_LIST", "/opt/two")
prepend_path("REPEAT_LIST", "/opt/one")
