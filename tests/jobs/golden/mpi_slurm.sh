#!/bin/bash
#SBATCH --chdir='/w'
#SBATCH --error='roost-%j.err'
#SBATCH --job-name='hello_mpi.py'
#SBATCH --ntasks='4'
#SBATCH --output='roost-%j.out'

srun --mpi=pmi2 python hello_mpi.py
