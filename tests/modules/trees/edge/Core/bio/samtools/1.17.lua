-- A name with a category directory: the name is "bio/samtools", the version "1.17".
setenv("SAMTOOLS_VERSION", myModuleVersion())
setenv("SAMTOOLS_NAME", myModuleName())
