#!/bin/bash
#SBATCH --job-name=modules --time=2
#SBATCH --output=modules-%j.out
module load hello/1.0
echo "HELLO_MODULE=$HELLO_MODULE"
ml
