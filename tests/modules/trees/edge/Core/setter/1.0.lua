-- setenv does not remember the old value: unloading unsets the variable (pushenv would restore it).
setenv("SETTER_VAR", "module-value")
