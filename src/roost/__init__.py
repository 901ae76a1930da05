"""roost: Python on HPC clusters, end to end.

The library lives in one package per capability (``modules``, ``envs``, ``containers``, ``kernels``,
``jobs``); ``cli`` is a thin layer over them and nothing imports it.  Keep this file free of imports:
``module`` runs on every prompt for some users.
"""

__version__ = "0.1.0"
