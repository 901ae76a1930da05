#!/bin/bash
#SBATCH --account='proj-1'
#SBATCH --array='0-99%10'
#SBATCH --chdir='/home/ada/p'
#SBATCH --constraint='avx512'
#SBATCH --cpus-per-task='8'
#SBATCH --dependency='afterok:123'
#SBATCH --error='logs/%x-%A_%a.err'
#SBATCH --exclusive
#SBATCH --gpus='a100:2'
#SBATCH --job-name='my job'
#SBATCH --mail-type='END,FAIL'
#SBATCH --mail-user='ada@example.org'
#SBATCH --mem='16G'
#SBATCH --nodes='1'
#SBATCH --ntasks='4'
#SBATCH --ntasks-per-node='4'
#SBATCH --output='logs/%x-%A_%a.out'
#SBATCH --partition='gpu'
#SBATCH --qos='high'
#SBATCH --time='1-02:00:00'
#SBATCH --reservation='maint'
#SBATCH --requeue

# roost: threads from --cpus-per-task
export OMP_NUM_THREADS='8';
export MKL_NUM_THREADS='8';
export OPENBLAS_NUM_THREADS='8';
export NUMEXPR_NUM_THREADS='8';
export VECLIB_MAXIMUM_THREADS='8';

python 'it'"'"'s here.py' '$HOME'
