#!/usr/bin/env bash
# Run one experiment as N shards with GNU parallel on one machine (or, with --sshloginfile,
# on several that share this folder and the binary's path), then merge them.
#
#   examples/cluster/gnu-parallel.sh experiments/theorem1-corrected.toml 4 2
#
# Arguments: the experiment file, the number of shards N, the threads per shard.
# Shards go to shards/<name>/ and the merged results to results/<name>/, where <name> is the
# experiment's `name` key. The binary is $STDP_FLOW, else `stdp-flow` on PATH, else
# target/release/stdp-flow of this checkout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() {
    echo "gnu-parallel.sh: $*" >&2
    exit 2
}
# shellcheck source=common.sh
. "$here/common.sh"
experiment=${1:?usage: gnu-parallel.sh EXPERIMENT.toml N THREADS}
shards=${2:-4}
threads=${3:-1}
[[ -f $experiment ]] || fail "no experiment file '$experiment'"
[[ $shards =~ ^[1-9][0-9]*$ ]] || fail "N must be a positive integer, not '$shards'"
[[ $threads =~ ^[1-9][0-9]*$ ]] || fail "THREADS must be a positive integer, not '$threads'"
command -v parallel >/dev/null 2>&1 || fail "GNU parallel is not installed (apt-get install parallel)"

name=$(experiment_name "$experiment")
[[ -n $name ]] || fail "found no top-level name = \"...\" in $experiment"

bin=$(find_binary "$here") || exit 2

mkdir -p "shards/$name"
# -q: quote the command, so that paths with spaces survive the shell parallel runs it in.
seq 0 $((shards - 1)) | parallel -q --halt now,fail=1 \
    "$bin" run "$experiment" --shard "{}/$shards" --threads "$threads" --out "shards/$name" --quiet
"$bin" merge "shards/$name"/shard-*-of-"$shards".json --out "results/$name"
