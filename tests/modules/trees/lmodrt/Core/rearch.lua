-- reload every loaded module under another architecture, as a site's arch-switching module does
if mode() == "load" then
   local before = loaded_modules()
   for i = 1, #before do
      unload(before[i].userName)
   end
   setenv("TARGET_ARCH", "wide")
   for i = 1, #before do
      mgrload(false, before[i])
   end
end
