"""Containers as modules and environments: runtimes (Apptainer, Charliecloud, Podman), wrappers, registry."""
