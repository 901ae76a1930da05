setenv("NOUNLOAD", "yes")
if mode() == "unload" then
    LmodError("noUnload/1.0 refuses to be unloaded")
end
