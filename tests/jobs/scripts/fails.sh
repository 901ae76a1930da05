#!/bin/bash
#SBATCH --job-name=fails --time=2
#SBATCH --output=fails-%j.out
echo about to fail
exit 3
