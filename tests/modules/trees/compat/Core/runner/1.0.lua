execute{cmd="true", modeA={"load"}}
setenv("RUNNER", "ran")
