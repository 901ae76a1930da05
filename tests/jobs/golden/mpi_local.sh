#!/bin/bash
#SBATCH --chdir='/w'
#SBATCH --error='roost-%j.err'
#SBATCH --job-name='hello_mpi.py'
#SBATCH --ntasks='4'
#SBATCH --output='roost-%j.out'

mpiexec -n 4 python hello_mpi.py
