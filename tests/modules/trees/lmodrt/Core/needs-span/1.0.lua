prereq(between("tool", "1.0<", "<1.4"))
