help{[[
  meant as a help text, given as a table
]]}
setenv("BADHELP", "loaded")
