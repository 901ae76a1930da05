pushenv("PUSHED", false)
