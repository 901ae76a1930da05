whatis("Site-wide settings every user gets")
add_property("lmod", "sticky")
setenv("SITE_SCRATCH", "/scratch")
prepend_path("PATH", "/opt/site/policy/bin")
