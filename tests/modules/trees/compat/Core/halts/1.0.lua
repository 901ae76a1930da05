setenv("HALTS_BEFORE", "1")
prepend_path("HALTS_PATH", "/halts/bin")
LmodBreak("halted on purpose")
setenv("HALTS_AFTER", "1")
