#!/bin/bash
#SBATCH -J openmp -t 2 -c 2 -o openmp-%j.out   # two threads

export OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK
python3 - <<'PY'
import os
print("threads", os.environ["OMP_NUM_THREADS"], "cpus", os.environ["SLURM_CPUS_PER_TASK"])
PY
