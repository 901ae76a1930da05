setenv("LMODERR", "before the error")
LmodError("lmoderr/1.0 is retired: load lib/3.0 instead")
