-- Lua helpers site modulefiles use beyond the basics.
local here = myFileName():match("(.*)/[^/]*$")
setenv("LUAEXTRAS_FILE_TAIL", myFileName():match("[^/]*$"))
setenv("LUAEXTRAS_DIR_IS_DIR", tostring(isDir(here)))
setenv("LUAEXTRAS_FILE_IS_FILE", tostring(isFile(myFileName())))
setenv("LUAEXTRAS_MISSING_IS_DIR", tostring(isDir("/nonexistent/roost")))
setenv("LUAEXTRAS_FORMAT", string.format("%s-%03d", myModuleName(), 7))
local parts = {}
for word in ("a:b:c"):gmatch("[^:]+") do parts[#parts + 1] = word:upper() end
setenv("LUAEXTRAS_JOINED", table.concat(parts, "+"))
