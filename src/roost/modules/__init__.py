"""An Lmod-compatible module system: Lua and Tcl modulefiles, hierarchies, families, collections.

Hot path: ``python -m roost.modules.command SHELL SUBCOMMAND ...`` (what the ``module`` shell function runs).
Nothing here may import click, rich or the other capabilities.
"""

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Mapping


def site_configured(environ: "Mapping[str, str]") -> bool:
    """Whether a site configuration may exist: Lmod's LMOD_PACKAGE_PATH (SitePackage.lua) or LMOD_CONFIG_DIR
    (lmod_config.lua). Here, so that a site without either imports nothing of roost.modules.site."""
    return bool(environ.get("LMOD_PACKAGE_PATH") or environ.get("LMOD_CONFIG_DIR"))
