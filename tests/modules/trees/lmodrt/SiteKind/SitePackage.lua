-- tells each loaded module what made it the default (Lmod's mname:defaultKind())
local hook = require("Hook")

local function load_hook(t)
   setenv("KIND_" .. t.mname:sn():upper(), t.mname:defaultKind())
end

hook.register("load", load_hook)
