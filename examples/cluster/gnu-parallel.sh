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
experiment=${1:?usage: gnu-parallel.sh EXPERIMENT.toml N THREADS}
shards=${2:-4}
threads=${3:-1}
[[ -f $experiment ]] || fail "no experiment file '$experiment'"
[[ $shards =~ ^[1-9][0-9]*$ ]] || fail "N must be a positive integer, not '$shards'"
[[ $threads =~ ^[1-9][0-9]*$ ]] || fail "THREADS must be a positive integer, not '$threads'"
command -v parallel >/dev/null 2>&1 || fail "GNU parallel is not installed (apt-get install parallel)"

name=$(sed -n -E -e '/^[[:space:]]*\[/q' \
    -e "/^[[:space:]]*name[[:space:]]*=/{s/^[[:space:]]*name[[:space:]]*=[[:space:]]*[\"']([A-Za-z0-9_-]+)[\"'].*/\\1/p;q;}" "$experiment")
[[ -n $name ]] || fail "found no top-level name = \"...\" in $experiment"

if [[ -n ${STDP_FLOW:-} ]]; then
    bin=$(command -v "$STDP_FLOW" 2>/dev/null) || fail "STDP_FLOW=$STDP_FLOW is not an executable"
elif bin=$(command -v stdp-flow 2>/dev/null); then
    :
elif [[ -x $here/../../target/release/stdp-flow ]]; then
    bin=$here/../../target/release/stdp-flow
else
    fail "cannot find stdp-flow: set STDP_FLOW=/path/to/stdp-flow, put it on PATH, or run cargo build --release"
fi
bin=$(readlink -f "$bin")

mkdir -p "shards/$name"
# -q: quote the command, so that paths with spaces survive the shell parallel runs it in.
seq 0 $((shards - 1)) | parallel -q --halt now,fail=1 \
    "$bin" run "$experiment" --shard "{}/$shards" --threads "$threads" --out "shards/$name" --quiet
"$bin" merge "shards/$name"/shard-*-of-"$shards".json --out "results/$name"
