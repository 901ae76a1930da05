source_sh("bash", pathJoin(os.getenv("LMODRT_ROOT"), "scripts", "missing.sh"))
