load(atleast("tool", "1.3"))
