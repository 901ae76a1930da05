LmodWarning("warner/1.0 is deprecated")
setenv("WARNER", "yes")
