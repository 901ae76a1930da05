depends_on(between("py", "3.8<", "<3.11"))
