#!/bin/bash
# A serial Python job, as centre guides write them.
#SBATCH --job-name=serial
#SBATCH --time=00:02:00
#SBATCH --output=serial-%j.out

echo "job $SLURM_JOB_ID named $SLURM_JOB_NAME from $SLURM_SUBMIT_DIR"
python3 -c 'print("hello from python")'
