#!/bin/bash
#SBATCH --job-name=venv --time=2
#SBATCH --output=venv-%j.out
# usage: sbatch venv.sh VENV_DIR
source "$1/bin/activate"
python -c 'import sys; print("prefix", sys.prefix)'
