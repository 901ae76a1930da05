setenv("SITE_TAG", site_tag())
setenv("PACKAGE_TAG", package_tag())
