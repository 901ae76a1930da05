"""Jupyter kernels for roost environments and module sets, and JupyterLab on a compute node.

    recipe.py    Recipe: what roost's launcher re-applies (modules, env, variables, interpreter)
    spec.py      KernelSpec: a standard kernel.json, with the recipe under metadata.roost
    manager.py   where kernelspecs live (the written search order), install / list / remove / check
    launch.py    the launcher a roost kernelspec's argv runs: modules, env, variables, then ipykernel
    prepare.py   building a Recipe from --env / --module / --set (resolving modules to full versions)
    api.py       what the CLI and other capabilities call: install_kernel, list_kernels, check_kernels, ...
    server.py    roost jupyter, login side: session files (0600), the job, readiness, URL and ssh command
    serve.py     roost jupyter, node side (the job's command): environment, free port, exec JupyterLab
"""
