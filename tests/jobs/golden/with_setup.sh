#!/bin/bash
#SBATCH --chdir='/w'
#SBATCH --cpus-per-task='2'
#SBATCH --error='roost-%j.err'
#SBATCH --job-name='wrap'
#SBATCH --output='roost-%j.out'

# roost: modules gcc/12, environment analysis
export PATH='/opt/env/bin:/usr/bin';
export VIRTUAL_ENV='/opt/env';
unset PYTHONHOME;

# roost: variables
export ROOST_CALL_DIR='/tmp/c';

# roost: threads from --cpus-per-task
export OMP_NUM_THREADS='2';
export MKL_NUM_THREADS='2';
export OPENBLAS_NUM_THREADS='2';
export NUMEXPR_NUM_THREADS='2';
export VECLIB_MAXIMUM_THREADS='2';

python -c 'print(1)'
