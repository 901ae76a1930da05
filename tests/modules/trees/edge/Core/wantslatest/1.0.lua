load(latest("lib"))
