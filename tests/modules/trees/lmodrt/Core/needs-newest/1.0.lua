prereq(latest("tool"))
