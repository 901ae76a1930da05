setenv("QUITTER", "before")
os.exit(3)
setenv("QUITTER_AFTER", "after")
