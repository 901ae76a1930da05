-- a site's lmod_config.lua: moves the package path and gives modulefiles a helper of its own
local cosmic = require("Cosmic"):singleton()
cosmic:assign("LMOD_PACKAGE_PATH", pathJoin(os.getenv("LMODRT_ROOT"), "Config", "package"))

local function site_tag()
   return "from-config"
end

sandbox_registration{ site_tag = site_tag }
