-- Depends on an older version than the one the user may have loaded.
depends_on("lib/1.0")
setenv("PINSOLD", "yes")
