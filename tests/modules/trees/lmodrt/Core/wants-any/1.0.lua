load(atleast("tool"))
