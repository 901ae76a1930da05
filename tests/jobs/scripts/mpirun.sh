#!/bin/bash
#SBATCH --job-name=mpirun --ntasks=2 --time=2
#SBATCH --output=mpirun-%j.out
# the MPI library's own launcher, from the environment (the mpich wheel's mpiexec here)
mpirun -n "$SLURM_NTASKS" python3 -c 'from mpi4py import MPI; c = MPI.COMM_WORLD; print(f"rank {c.Get_rank()} of {c.Get_size()}")'
