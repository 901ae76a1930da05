-- Lmod's string methods, as site modulefiles use them
local parts = {}
for piece in ("/opt/a:/opt/b::/opt/c"):split(":") do parts[#parts + 1] = "[" .. piece .. "]" end
setenv("SPLIT_PIECES", table.concat(parts, ""))
setenv("SPLIT_TRIM", ("  padded  "):trim())
setenv("SPLIT_ESCAPED", ("a.b-c"):escape())
