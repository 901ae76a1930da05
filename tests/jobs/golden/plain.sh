#!/bin/bash
#SBATCH --chdir='/home/ada/project'
#SBATCH --error='roost-%j.err'
#SBATCH --job-name='train.py'
#SBATCH --output='roost-%j.out'

python train.py --lr 0.1
