setenv("MY_NAME", myModuleName())
setenv("MY_VERSION", myModuleVersion())
setenv("MY_FULL", myModuleFullName())
setenv("MY_USER_NAME", myModuleUsrName())
setenv("SITE_FROM_ENV", os.getenv("SITE_NAME") or "unset")
setenv("MISSING_FROM_ENV", os.getenv("ROOST_TEST_SURELY_UNSET") or "fallback")
setenv("JOINED", pathJoin("/opt", "names", myModuleVersion(), "bin"))
if mode() == "load" then
    LmodMessage("names/1.2.3 loaded")
end
