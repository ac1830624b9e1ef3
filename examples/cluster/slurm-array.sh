#!/usr/bin/env bash
# The per-task script of a Slurm job array: task i of N runs `stdp-flow run --shard i/N`.
#
# The simplest way to use it is through the driver, which creates the log and shard folders,
# submits this array and a dependent merge job, and prints where the results will appear:
#
#   examples/cluster/slurm-submit.sh experiments/theorem1-corrected.toml 16
#
# It can also be submitted by hand (from the folder that should hold shards/):
#
#   sbatch --array=0-15 examples/cluster/slurm-array.sh experiments/theorem1-corrected.toml 16
#   # when every task has finished:
#   stdp-flow merge shards/theorem1-corrected/shard-*-of-16.json --out results/theorem1-corrected
#
# Arguments: the experiment file, the number of shards N, and optionally the shard folder
# (default shards/<name>, where <name> is the experiment's `name` key, which also names
# results/<name>). The shard file is written as <shard folder>/shard-i-of-N.json.
#
# The binary is $STDP_FLOW if set (sbatch passes the submitting environment on by default),
# else `stdp-flow` on PATH, else target/release/stdp-flow under the submission folder.
# Use the same build for every task and for the merge: merge refuses shards of another build.
# Every shard simulates its own groups of trajectories with the same per-trajectory random streams
# as an unsharded run, so the merged results equal a single-machine run exactly (timings aside).
#
# Resources. This script asks for nothing but a job name, so it fits any node; pass what you
# need on the sbatch command line (it overrides #SBATCH lines):
#   --cpus-per-task=C   threads per shard (--threads gets $SLURM_CPUS_PER_TASK, default 1).
#                       C must not exceed the CPUs of a node in the partition (`sinfo -o '%P %c'`):
#                       with Slurm's default EnforcePartLimits=NO such an array is accepted and
#                       then pends forever with reason PartitionConfig; sbatch says nothing.
#   --mem=..., --time=... likewise must fit the nodes (`sinfo -o '%P %m %l'`); `stdp-flow run`
#                       prints the peak memory of a run in its plan.
#   --output=DIR/...    DIR must exist before the job starts: Slurm opens the log before running
#                       anything, and a missing folder kills every task at once ("Could not open
#                       stdout file") without a word from sbatch. An #SBATCH line cannot create
#                       a folder, which is why there is no --output here: the default is
#                       slurm-<job>_<task>.out in the submission folder (slurm-submit.sh puts
#                       the logs in shards/<name>/logs/ after creating it).
#SBATCH --job-name=stdp-flow
set -euo pipefail
usage="usage: sbatch --array=0-(N-1) slurm-array.sh EXPERIMENT.toml N [SHARD_DIR]"
experiment=${1:?$usage}
shards=${2:?$usage}
fail() {
    echo "slurm-array.sh: $*" >&2
    exit 2
}
[[ $shards =~ ^[1-9][0-9]*$ ]] || fail "N must be a positive integer, not '$shards'"
[[ -n ${SLURM_ARRAY_TASK_ID:-} ]] ||
    fail "not a task of a job array: submit with sbatch --array=0-$((shards - 1)) (or use slurm-submit.sh)"
task=$SLURM_ARRAY_TASK_ID
((task < shards)) || fail "array index $task is not below N = $shards: submit with --array=0-$((shards - 1))"
[[ -f $experiment ]] || fail "no experiment file '$experiment' (from $PWD)"

# The experiment's `name` key (letters, digits, '-' and '_'), which names shards/ and results/.
name=$(sed -n -E -e '/^[[:space:]]*\[/q' \
    -e "/^[[:space:]]*name[[:space:]]*=/{s/^[[:space:]]*name[[:space:]]*=[[:space:]]*[\"']([A-Za-z0-9_-]+)[\"'].*/\\1/p;q;}" "$experiment")
[[ -n $name ]] || fail "found no top-level name = \"...\" in $experiment"
shard_dir=${3:-shards/$name}

bin=${STDP_FLOW:-}
if [[ -z $bin ]]; then
    if command -v stdp-flow >/dev/null 2>&1; then
        bin=stdp-flow
    elif [[ -x ${SLURM_SUBMIT_DIR:-.}/target/release/stdp-flow ]]; then
        bin=${SLURM_SUBMIT_DIR:-.}/target/release/stdp-flow
    fi
fi
if [[ -z $bin ]] || ! command -v "$bin" >/dev/null 2>&1; then
    fail "cannot find stdp-flow on $(hostname): set STDP_FLOW=/path/to/stdp-flow (on a filesystem the nodes share) or put it on PATH"
fi

threads=${SLURM_CPUS_PER_TASK:-1}
mkdir -p "$shard_dir"
echo "stdp-flow shard $task/$shards of $name on $(hostname) with $threads thread(s): $bin -> $shard_dir" >&2
exec "$bin" run "$experiment" \
    --shard "$task/$shards" \
    --threads "$threads" \
    --out "$shard_dir" --quiet
