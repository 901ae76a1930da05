prepend_path("LUA_PATH", "/opt/delim/?.lua", ";")
append_path("LUA_PATH", "/opt/delim/?/init.lua", ";")
prepend_path("SEMI_LIST", "a b", ";")
prepend_path{"COMMA_LIST", "x", delim=","}
append_path{"COMMA_LIST", "y", delim=","}
