setenv("SAMTOOLS_VERSION", myModuleVersion())
setenv("SAMTOOLS_NAME", myModuleName())
