#!/usr/bin/env bash
# Run one experiment as N shards with GNU parallel on one machine (or, with --sshloginfile,
# on several), then merge them.
#
#   examples/cluster/gnu-parallel.sh experiments/theorem1-corrected.toml 4 2
#
# Arguments: the experiment file, the number of shards N, the threads per shard.
set -euo pipefail
experiment=${1:?usage: gnu-parallel.sh EXPERIMENT.toml N THREADS}
shards=${2:-4}
threads=${3:-1}
name=$(basename "$experiment" .toml)
mkdir -p "shards/$name"
seq 0 $((shards - 1)) | parallel --halt now,fail=1 \
    stdp-flow run "$experiment" --shard "{}/$shards" --threads "$threads" --out "shards/$name" --quiet
stdp-flow merge "shards/$name"/shard-*-of-"$shards".json --out "results/$name"
