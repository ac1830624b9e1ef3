#!/usr/bin/env bash
# Run one experiment as a Slurm job array of N shards, then merge.
#
#   sbatch --array=0-15 examples/cluster/slurm-array.sh experiments/theorem1-corrected.toml 16
#   # when every task has finished:
#   stdp-flow merge shards/theorem1-corrected/shard-*-of-16.json --out results/theorem1-corrected
#
# Every shard simulates its own groups of trajectories with the same per-trajectory random streams
# as an unsharded run, so the merged results equal a single-machine run exactly. Use the same
# stdp-flow build for every task and for the merge (merge refuses shards of another build).
#SBATCH --job-name=stdp-flow
#SBATCH --cpus-per-task=8
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --output=shards/%x-%A_%a.log
set -euo pipefail
experiment=${1:?usage: slurm-array.sh EXPERIMENT.toml N}
shards=${2:?usage: slurm-array.sh EXPERIMENT.toml N}
name=$(basename "$experiment" .toml)
mkdir -p "shards/$name"
stdp-flow run "$experiment" \
    --shard "${SLURM_ARRAY_TASK_ID}/${shards}" \
    --threads "${SLURM_CPUS_PER_TASK:-1}" \
    --out "shards/$name" --quiet
