-- A modulefile without a version.
setenv("STANDALONE", myModuleFullName())
