-- moves every directory of the first architecture to the second one, as a site's arch switch does
if mode() == "load" then
   local mpath = os.getenv("MODULEPATH"):gsub("/ArchA/", "/ArchB/")
   pushenv("MODULEPATH", mpath)
end
