prepend_path("PATH", "/opt/later/bin")
append_path("PATH", "/opt/later/tail")
