#!/bin/bash
#SBATCH --job-name=gpu
#SBATCH --gpus-per-node=4
#SBATCH --time=2

nvidia-smi
