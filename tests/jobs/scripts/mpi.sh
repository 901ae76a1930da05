#!/bin/bash
#SBATCH --job-name=mpi
#SBATCH --ntasks=2
#SBATCH --time=00:02:00
#SBATCH --output=mpi-%j.out

srun --mpi=pmi2 python3 -c 'from mpi4py import MPI; c = MPI.COMM_WORLD; print(f"rank {c.Get_rank()} of {c.Get_size()}")'
