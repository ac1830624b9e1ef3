#!/usr/bin/env bash
# Run one experiment on Slurm as N shards and merge them: one command, from submission to
# results/<name>/.
#
#   examples/cluster/slurm-submit.sh EXPERIMENT.toml N [SBATCH OPTIONS...]
#   examples/cluster/slurm-submit.sh experiments/theorem1-corrected.toml 16
#   examples/cluster/slurm-submit.sh experiments/theorem1-corrected.toml 16 --cpus-per-task=4 -p long
#
# Run it from the folder that should receive shards/ and results/ (usually the repository root).
# It
#   1. finds the binary: $STDP_FLOW, else `stdp-flow` on PATH, else target/release/stdp-flow of
#      this checkout;
#   2. asks Slurm whether the request can ever run (sbatch --test-only) and refuses to submit if
#      not, instead of leaving an array pending forever;
#   3. creates shards/<name>/ and shards/<name>/logs/ BEFORE submitting: Slurm opens a job's
#      --output file before running anything, and a missing folder kills every task at once
#      ("Could not open stdout file ... No such file or directory") with no word from sbatch;
#      and copies the binary to shards/<name>/bin/stdp-flow, so that every task and the merge
#      use one build even if the original is rebuilt while jobs wait in the queue (merge refuses
#      shards of different builds);
#   4. submits slurm-array.sh as the job array 0..N-1 (task i writes shards/<name>/shard-i-of-N.json,
#      log shards/<name>/logs/shard-i-of-N.<jobid>.log);
#   5. submits the merge job with --dependency=afterok:<array> --kill-on-invalid-dep=yes: it runs
#      `stdp-flow merge shards/<name>/shard-*-of-N.json --out results/<name>` once every task has
#      succeeded, and is cancelled (rather than pending forever) if one fails;
#   6. prints the job ids, the log folder and where the results will appear.
# <name> is the experiment's `name` key (the same folder name `stdp-flow run` uses). N may not
# exceed the experiment's groups of trajectories (64 for 512 or more, about M/8 below); if it
# does, every task fails at once and says so in its log.
#
# SBATCH OPTIONS are passed to both sbatch calls (shards and merge) after the defaults, so they
# override them: e.g. --partition, --account, --qos, --time, --mem, --cpus-per-task.
#   --cpus-per-task (default 1) is the threads of each shard (--threads $SLURM_CPUS_PER_TASK) and
#   of the merge. It must not exceed the CPUs of a node of the partition (`sinfo -o '%P %c'`):
#   Slurm accepts such a job (with its default EnforcePartLimits=NO) and leaves it pending forever
#   with reason PartitionConfig, because no node can ever hold it. The same holds for --mem above
#   a node's memory and --time above the partition's limit. Step 2 catches these before submitting.
#   No --mem or --time is requested by default (the partition's defaults apply); `stdp-flow run`
#   prints the peak memory of a run in its plan.
#
# On a real cluster, the current folder, the experiment file and shards/<name>/bin must be on a
# filesystem that the compute nodes share with this one (the usual home or project folder).
#
# Environment: STDP_FLOW (the binary), SLURM_SUBMIT_CHECK=0 skips step 2.
# Exit status: 0 submitted, 2 invalid input or a request that can never run (nothing submitted),
# 1 a failed submission.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
me=slurm-submit.sh
fail() {
    echo "$me: $*" >&2
    exit 2
}
# shellcheck source=common.sh
. "$here/common.sh"
usage="usage: $me EXPERIMENT.toml N [SBATCH OPTIONS...]"
[[ $# -ge 2 ]] || fail "$usage"
experiment=$1
shards=$2
shift 2
extra=("$@")

[[ -f $experiment ]] || fail "no experiment file '$experiment'"
[[ $shards =~ ^[1-9][0-9]*$ ]] || fail "N must be a positive integer, not '$shards'"
for arg in ${extra[@]+"${extra[@]}"}; do
    case $arg in
    -a | -a* | --array | --array=*) fail "do not pass --array: it is set to 0-$((shards - 1)) from N" ;;
    esac
done
command -v sbatch >/dev/null 2>&1 || fail "sbatch not found: run this on a Slurm submission (login) node"

# The experiment's `name` key (letters, digits, '-' and '_'), which names shards/ and results/.
name=$(experiment_name "$experiment")
[[ -n $name ]] || fail "found no top-level name = \"...\" (letters, digits, '-', '_') in $experiment"

# The binary: $STDP_FLOW, else stdp-flow on PATH, else this checkout's release build.
bin=$(find_binary "$here") || exit 2
version=$("$bin" --version 2>&1) || fail "$bin does not run: $version"

root=$PWD
experiment_abs=$(readlink -f "$experiment")
shard_dir=$root/shards/$name
log_dir=$shard_dir/logs
results_dir=$root/results/$name
snapshot=$shard_dir/bin/stdp-flow

last=$((shards - 1))
# Defaults first, then the user's options (which override them).
array_args=(--job-name="stdp-flow-$name" --cpus-per-task=1
    --output="$log_dir/shard-%a-of-$shards.%A.log"
    --chdir="$root" --export="ALL,STDP_FLOW=$snapshot"
    ${extra[@]+"${extra[@]}"} --array="0-$last")
array_cmd=("$here/slurm-array.sh" "$experiment_abs" "$shards" "$shard_dir")

if [[ ${SLURM_SUBMIT_CHECK:-1} != 0 ]]; then
    if ! check=$(sbatch --test-only "${array_args[@]}" "${array_cmd[@]}" 2>&1); then
        {
            echo "$me: nothing was submitted: a dry run of the request (sbatch --test-only) failed:"
            echo "$check" | sed 's/^/  /'
            case $check in
            *"node configuration is not available"* | *[Tt]"ime limit"* | *[Pp]artition*)
                echo "  Slurm says this job array can never run. Submitted anyway, it would be accepted"
                echo "  and pend forever (reason PartitionConfig or similar). Ask for at most the CPUs"
                echo "  (--cpus-per-task), memory (--mem) and time (--time) of one node of the partition."
                echo "  Partitions, nodes, CPUs and memory per node, time limit (sinfo -o '%P %D %c %m %l'):"
                sinfo -o '%P %D %c %m %l' 2>&1 | sed 's/^/    /'
                ;;
            esac
            echo "  (SLURM_SUBMIT_CHECK=0 skips this check.)"
        } >&2
        exit 2
    fi
fi

# The folders the jobs need, before submitting (Slurm cannot create the log folder), and a
# private copy of the binary, replaced atomically (running jobs keep the old file).
mkdir -p "$log_dir" "$shard_dir/bin"
tmp=$(mktemp "$shard_dir/bin/.stdp-flow.XXXXXX")
cp "$bin" "$tmp"
chmod 755 "$tmp"
mv -f "$tmp" "$snapshot"
"$snapshot" --version >/dev/null 2>&1 || fail "the copy $snapshot of $bin does not run"

out=$(sbatch --parsable "${array_args[@]}" "${array_cmd[@]}") || {
    echo "$me: sbatch failed to submit the job array" >&2
    exit 1
}
array_id=${out%%;*}

q() { printf '%q' "$1"; }
merge_wrap="exec $(q "$snapshot") merge $(q "$shard_dir")/shard-*-of-$shards.json --out $(q "$results_dir") --threads \"\${SLURM_CPUS_PER_TASK:-1}\""
merge_manual="$(q "$snapshot") merge $(q "$shard_dir")/shard-*-of-$shards.json --out $(q "$results_dir")"
merge_args=(--job-name="stdp-flow-merge-$name" --cpus-per-task=1
    --chdir="$root" --export="ALL,STDP_FLOW=$snapshot"
    ${extra[@]+"${extra[@]}"}
    --output="$log_dir/merge.%j.log"
    --dependency="afterok:$array_id" --kill-on-invalid-dep=yes)
out=$(sbatch --parsable "${merge_args[@]}" --wrap="$merge_wrap") || {
    echo "$me: sbatch failed to submit the merge job; the shards (job $array_id) still run." >&2
    echo "  Merge by hand when they are done: $merge_manual" >&2
    exit 1
}
merge_id=${out%%;*}

cat <<EOF
$me: $name ($experiment), $shards shards, $version
  shards: job array $array_id (tasks 0-$last) -> $shard_dir/shard-<i>-of-$shards.json
  merge:  job $merge_id, after every task succeeds (cancelled if one fails)
  logs:   $log_dir/
  results will appear in $results_dir/ (summary.json, rows.csv, figures)
  follow: squeue -j $array_id,$merge_id    cancel: scancel $array_id $merge_id
array_job_id=$array_id
merge_job_id=$merge_id
EOF
