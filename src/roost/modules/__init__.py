"""An Lmod-compatible module system: Lua and Tcl modulefiles, hierarchies, families, collections.

Hot path: ``python -m roost.modules.command SHELL SUBCOMMAND ...`` (what the ``module`` shell function runs).
Nothing here may import click, rich or the other capabilities.
"""
