-- found through the package path lmod_config.lua assigned
local function package_tag()
   return "from-package"
end

sandbox_registration{ package_tag = package_tag }
