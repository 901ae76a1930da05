-- A value holding several entries at once is split on the delimiter.
prepend_path("MULTI_PATH", "/opt/m/one:/opt/m/two")
append_path("MULTI_PATH", "/opt/m/three")
