#!/bin/bash
#SBATCH --job-name=array
#SBATCH --array=1-3
#SBATCH --time=2
#SBATCH -o array-%A_%a.out

echo "task $SLURM_ARRAY_TASK_ID of array $SLURM_ARRAY_JOB_ID"
