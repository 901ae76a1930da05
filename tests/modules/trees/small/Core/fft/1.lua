setenv("FFT_LEVEL", "1")
