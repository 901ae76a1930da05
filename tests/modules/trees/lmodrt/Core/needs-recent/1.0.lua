prereq(atleast("tool", "1.3"))
