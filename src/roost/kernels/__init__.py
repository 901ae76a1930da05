"""Jupyter kernels for roost environments and module sets, and JupyterLab on a compute node.

    spec.py      KernelSpec (a standard kernel.json) and Recipe (what roost's launcher re-applies)
    manager.py   where kernelspecs live (the written search order), install / list / remove / check
    launch.py    the launcher a roost kernelspec's argv runs: modules, env, variables, then ipykernel
    prepare.py   building a Recipe from --env / --module / --set (resolving modules to full versions)
    server.py    JupyterLab on a node: session files, the node-side starter, readiness, the ssh command
"""
