#!/usr/bin/env bash
# Real-Slurm test of the cluster recipe (examples/cluster/): starts a private single-node Slurm
# (munged, slurmctld, slurmd on localhost, everything under one temporary folder), then checks
#   1. slurm-submit.sh refuses, and submits nothing, when --cpus-per-task exceeds the node
#      (such an array would otherwise pend forever with reason PartitionConfig);
#   2. slurm-submit.sh EXPERIMENT 4 runs the shards and the dependent merge job to
#      results/<name>/, equal to an unsharded `stdp-flow run` except for timings and provenance;
#   3. the hand-made recipe, sbatch --array=0-3 slurm-array.sh EXPERIMENT 4 and then merge,
#      gives the same results.
#
#   tests/cluster/slurm.sh            # as root; installs slurmctld slurmd slurm-client munge if missing
#
# Needs root (the daemons run as root, SlurmUser=root) and Debian/Ubuntu packages. If the packages
# are missing and cannot be installed, it says so and exits 0 (skipped). It never touches
# /etc/slurm or /etc/munge: every daemon gets its configuration, key, sockets, state and logs
# under the temporary folder (SLURM_CONF, AuthInfo=socket=...), on free ports, and every daemon
# it started is stopped on exit. The binary is $STDP_FLOW, else target/release/stdp-flow of this
# repository (copied into the temporary folder first, so a rebuild during the test cannot mix
# builds). KEEP_TMP=1 keeps the temporary folder. Takes about a minute (without apt-get).
# The last line is "slurm test: P passed, F failed"; the exit status is 0 iff F = 0.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
passed=0
failed=0
done_=0
say() { echo "slurm test: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# Packages (the daemons live in /usr/sbin, which a non-login PATH may lack).
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac
missing=()
command -v slurmctld >/dev/null 2>&1 || missing+=(slurmctld)
command -v slurmd >/dev/null 2>&1 || missing+=(slurmd)
command -v sbatch >/dev/null 2>&1 || missing+=(slurm-client)
command -v munged >/dev/null 2>&1 || missing+=(munge)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if ((${#missing[@]})); then
    say "installing ${missing[*]} with apt-get"
    if ! { [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1 &&
        apt-get update -qq >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null 2>&1; }; then
        say "SKIPPED: could not install ${missing[*]} (needs root, apt-get and a package mirror)"
        echo "slurm test: 0 passed, 0 failed (skipped)"
        exit 0
    fi
fi
if [[ $(id -u) != 0 ]]; then
    say "must run as root (slurmd and the test cluster's SlurmUser are root)"
    echo "slurm test: 0 passed, 1 failed"
    exit 1
fi
version=$(slurmd -V 2>&1 || true)
say "using ${version:-slurmd of unknown version}"

# ---------------------------------------------------------------------------------------------
# Temporary folder (munged wants every folder above its socket searchable by all: chmod 755).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stdp-flow-slurm.XXXXXX")
chmod 755 "$tmp"
mkdir -p "$tmp"/{munge-key,munge-run,state,spool,log,bin}
chmod 700 "$tmp/munge-key"
chmod 755 "$tmp/munge-run"
pids=() # daemons, in start order

stop_daemons() {
    # Cancel jobs first, so that no job step outlives its slurmd.
    if [[ -n ${SLURM_CONF:-} ]] && ((${#pids[@]} >= 2)); then
        scancel --quiet --user=root 2>/dev/null || true
        for _ in $(seq 1 20); do
            [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break
            sleep 0.5
        done
    fi
    local i pid
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 1 40); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
show_logs() {
    local f
    for f in "$tmp"/log/* "$tmp"/work*/shards/*/logs/* "$tmp"/readme/*.out; do
        [[ -f $f ]] || continue
        echo "----- ${f#"$tmp"/} (last 40 lines)" >&2
        tail -n 40 "$f" >&2
    done
}
on_exit() {
    local rc=$?
    trap - EXIT
    set +e
    if ((!done_)); then
        say "aborted (exit $rc) before the checks finished; logs:"
        show_logs
        failed=$((failed + 1))
    fi
    stop_daemons
    if [[ ${KEEP_TMP:-0} == 1 ]]; then
        say "kept $tmp"
    else
        rm -rf "$tmp"
    fi
    echo "slurm test: $passed passed, $failed failed"
    if ((failed)); then exit 1; fi
    exit 0
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# The binary, copied (waiting a little if a rebuild has it briefly absent).
src=${STDP_FLOW:-$repo/target/release/stdp-flow}
for _ in $(seq 1 60); do
    [[ -x $src ]] && cp "$src" "$tmp/bin/stdp-flow" 2>/dev/null && "$tmp/bin/stdp-flow" --version >/dev/null 2>&1 && break
    rm -f "$tmp/bin/stdp-flow"
    sleep 2
done
[[ -x $tmp/bin/stdp-flow ]] || {
    say "no working binary at $src (set STDP_FLOW or run cargo build --release)"
    exit 1
}
bin=$tmp/bin/stdp-flow
say "binary: $src ($("$bin" --version))"

# ---------------------------------------------------------------------------------------------
# A private Slurm: nothing inherited from a surrounding Slurm job, the configuration in $tmp.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(SLURM_|SBATCH_|SALLOC_|SRUN_|SQUEUE_|SINFO_|SCONTROL_)' || true)
export SLURM_CONF=$tmp/slurm.conf

# Two free TCP ports for slurmctld and slurmd.
read -r ctld_port slurmd_port < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')

# The node as slurmd sees it; CPUs = nproc (or fewer if slurmd sees fewer), memory 90 %.
cpus=$(nproc)
hw=$(slurmd -C 2>/dev/null | head -n 1 || true)
hw_cpus=$(sed -n -E 's/.*CPUs=([0-9]+).*/\1/p' <<<"$hw")
hw_mem=$(sed -n -E 's/.*RealMemory=([0-9]+).*/\1/p' <<<"$hw")
[[ -n $hw_cpus ]] && ((hw_cpus < cpus)) && cpus=$hw_cpus
[[ -n $hw_mem ]] || hw_mem=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
mem=$((hw_mem * 9 / 10))
node="NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN"
# With the hardware's own topology when slurmd's CPU count is the one we use.
if [[ $hw_cpus == "$cpus" ]]; then
    topo=$(grep -oE '(Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=[0-9]+' <<<"$hw" | tr '\n' ' ' || true)
    node="NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus ${topo}RealMemory=$mem State=UNKNOWN"
fi
# select/cons_tres exists from 19.05 on; older releases only have cons_res.
select=select/cons_tres
plugins=$(dirname "$(find /usr/lib /usr/lib64 /usr/local/lib -name select_cons_tres.so -print -quit 2>/dev/null || true)")
[[ -z $plugins || $plugins == . ]] && select=select/cons_res

cat >"$SLURM_CONF" <<EOF
# Single-node test cluster of tests/cluster/slurm.sh ($version).
ClusterName=stdpflowtest
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge-run/munge.socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=$select
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
MailProg=/bin/true
$node
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

# munged, with its own key, socket, pid file, seed and log.
if command -v mungekey >/dev/null 2>&1; then
    mungekey --create --keyfile="$tmp/munge-key/munge.key" >/dev/null
else
    dd if=/dev/urandom of="$tmp/munge-key/munge.key" bs=1024 count=1 status=none
fi
chmod 400 "$tmp/munge-key/munge.key"
munged --foreground --key-file="$tmp/munge-key/munge.key" --socket="$tmp/munge-run/munge.socket" \
    --pid-file="$tmp/munge-run/munged.pid" --seed-file="$tmp/munge-key/munged.seed" \
    --log-file="$tmp/log/munged.log" >"$tmp/log/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 40); do
    [[ -S $tmp/munge-run/munge.socket ]] && break
    sleep 0.25
done
munge -S "$tmp/munge-run/munge.socket" -n </dev/null | unmunge -S "$tmp/munge-run/munge.socket" >/dev/null ||
    { say "munged does not work"; exit 1; }

# slurmctld and slurmd in the foreground (-D), as background processes of this script.
slurmctld -D >"$tmp/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N localhost >"$tmp/log/slurmd.out" 2>&1 &
pids+=($!)

ok=0
for _ in $(seq 1 60); do
    state=$(sinfo -h -n localhost -o %T 2>/dev/null || true)
    [[ $state == idle ]] && { ok=1; break; }
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { say "a daemon (pid $pid) died"; exit 1; }; done
    sleep 0.5
done
((ok)) || { say "the node is not idle after 30 s (state '${state:-?}')"; exit 1; }
say "cluster up: $(sinfo -h -o '%P %D %c %m %T' | head -n 1) (ports $ctld_port, $slurmd_port, $select)"

# ---------------------------------------------------------------------------------------------
# A small experiment (the schema of experiments/theorem1-corrected.toml). The file name differs
# from its `name` on purpose: results/<name> follows the key.
cat >"$tmp/tiny experiment.toml" <<'EOF'
name = "slurm-smoke"
title = "Slurm smoke test: corrected Theorem 1 at small sizes"
seed = 1

[loss]
kind = "logcosh"
center = [1.0, -0.5, 0.25]

[start]
theta0 = [0.0, 0.0, 0.0]

[scaling]
rule = "corrected"
alpha = 1.0
a = 1.0

[reference]
drift = "limit"
horizon = 1.0

[sweep]
n = [100, 316, 1000, 3162]
trajectories = 256

[claim]
slope = -1.0
tolerance = 0.1
grid_term = true
expect = "holds"
statement = "Corrected Theorem 1: sqrt(E sup|Z^n - Z|^2) <= c sqrt(d/n)"
EOF
name=slurm-smoke
shards=4

# The reference: the same experiment unsharded on this machine.
"$bin" run "$tmp/tiny experiment.toml" --out "$tmp/unsharded" --quiet 2>"$tmp/log/unsharded.err" ||
    { cat "$tmp/log/unsharded.err" >&2; say "the unsharded run failed"; exit 1; }

# job_state ID: the state of a job while slurmctld remembers it (MinJobAge, 300 s by default).
job_state() { scontrol -o show job "$1" 2>/dev/null | grep -oE 'JobState=[A-Z_]+' | head -n 1 | cut -d= -f2; }
# wait_jobs SECONDS ID...: until none of the jobs (arrays included) is pending or running.
wait_jobs() {
    local limit=$1 start=$SECONDS
    shift
    local ids
    ids=$(
        IFS=,
        echo "$*"
    )
    local reasons
    while [[ -n $(squeue -h -j "$ids" -o %i 2>/dev/null) ]]; do
        # Reasons that never clear by themselves: fail now rather than at the time limit.
        reasons=$(squeue -h -j "$ids" -t PD -o '%i %r' 2>/dev/null |
            grep -E 'PartitionConfig|PartitionTimeLimit|DependencyNeverSatisfied|BadConstraints|InvalidAccount|InvalidQOS' || true)
        if [[ -n $reasons ]]; then
            say "jobs that can never run (they would pend forever): $reasons"
            return 1
        fi
        if ((SECONDS - start > limit)); then
            say "jobs $ids still queued after $limit s:"
            squeue -j "$ids" >&2 || true
            return 1
        fi
        sleep 1
    done
}
# same_results A B: summary.json and rows.csv of two results folders agree (timings and the
# run's own provenance, kept in provenance.json, are ignored where present and printed).
same_results() {
    python3 - "$1" "$2" <<'PY'
import csv, json, sys
a_dir, b_dir = sys.argv[1], sys.argv[2]
a = json.load(open(f"{a_dir}/summary.json"))
b = json.load(open(f"{b_dir}/summary.json"))
ignored = {"provenance": ("seconds", "started_unix", "threads"), "rows": ("seconds",)}
noted = []
for k in ignored["provenance"]:
    va, vb = a["provenance"].pop(k, None), b["provenance"].pop(k, None)
    if va != vb:
        noted.append(f"provenance.{k}: {va} vs {vb}")
for ra, rb in zip(a["rows"], b["rows"]):
    if ra.pop("seconds", None) != rb.pop("seconds", None) and "rows[].seconds" not in noted:
        noted.append("rows[].seconds")
diffs = []
def walk(x, y, path):
    if isinstance(x, dict) and isinstance(y, dict):
        for k in sorted(set(x) | set(y)):
            if k not in x or k not in y:
                diffs.append(f"{path}.{k}: only in {'first' if k in x else 'second'}")
            else:
                walk(x[k], y[k], f"{path}.{k}")
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (u, v) in enumerate(zip(x, y)):
            walk(u, v, f"{path}[{i}]")
    elif x != y or type(x) != type(y):
        diffs.append(f"{path}: {json.dumps(x)[:80]} vs {json.dumps(y)[:80]}")
walk(a, b, "summary")
# rows.csv holds no timing (it is in provenance.json): it must agree byte for byte.
if open(f"{a_dir}/rows.csv").read() != open(f"{b_dir}/rows.csv").read():
    diffs.append("rows.csv differs")
print("    differing only in (ignored): " + ("; ".join(noted) or "nothing"), file=sys.stderr)
for d in diffs:
    print("    DIFFERS " + d, file=sys.stderr)
sys.exit(1 if diffs else 0)
PY
}

check() { # check NAME FUNCTION: run FUNCTION with set -e in a subshell, count the result
    local rc t0=$SECONDS
    say "--- $1"
    set +e
    (
        set -e
        "$2"
    )
    rc=$?
    set -e
    if ((rc == 0)); then
        passed=$((passed + 1))
        say "PASS $1 ($((SECONDS - t0)) s)"
    else
        failed=$((failed + 1))
        say "FAIL $1 (exit $rc)"
        show_logs
    fi
}

# 1. An impossible --cpus-per-task is refused before anything is submitted.
check_refuses() {
    mkdir -p "$tmp/work-refuse"
    cd "$tmp/work-refuse"
    local rc=0 err
    err=$(STDP_FLOW=$bin "$repo/examples/cluster/slurm-submit.sh" "../tiny experiment.toml" "$shards" \
        --cpus-per-task=$((cpus + 1)) 2>&1 >/dev/null) || rc=$?
    echo "$err" | sed 's/^/    /' >&2
    [[ $rc == 2 ]] || { say "expected exit 2, got $rc"; return 1; }
    grep -q 'pend forever' <<<"$err" || { say "no explanation printed"; return 1; }
    [[ -z $(squeue -h -o %i) ]] || { say "something was submitted:"; squeue >&2; return 1; }
    [[ ! -e shards && ! -e results ]] || { say "folders were created"; return 1; }
}

# 2. The driver: one command from the experiment to results/<name>/.
check_driver() {
    mkdir -p "$tmp/work dir"
    cd "$tmp/work dir"
    local out array merge state f
    out=$(STDP_FLOW=$bin "$repo/examples/cluster/slurm-submit.sh" "../tiny experiment.toml" "$shards")
    echo "$out" | sed 's/^/    /' >&2
    array=$(sed -n 's/^array_job_id=//p' <<<"$out")
    merge=$(sed -n 's/^merge_job_id=//p' <<<"$out")
    [[ $array =~ ^[0-9]+$ && $merge =~ ^[0-9]+$ ]] || { say "no job ids in the output"; return 1; }
    wait_jobs 300 "$array" "$merge"
    state=$(job_state "$merge")
    [[ $state == COMPLETED ]] || { say "merge job $merge ended $state"; return 1; }
    for ((i = 0; i < shards; i++)); do
        f=shards/$name/logs/shard-$i-of-$shards.$array.log
        [[ -f $f ]] || { say "no log $f"; return 1; }
        [[ -f shards/$name/shard-$i-of-$shards.json ]] || { say "no shard $i"; return 1; }
    done
    [[ -f shards/$name/logs/merge.$merge.log ]] || { say "no merge log"; return 1; }
    [[ -f results/$name/summary.json && -f results/$name/rows.csv ]] || { say "no results/$name"; return 1; }
    [[ $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "results/$name/summary.json") == complete ]]
    same_results "$tmp/work dir/results/$name" "$tmp/unsharded"
}

# 3. The hand-made recipe of the README: sbatch the per-task script, then merge.
check_readme() {
    mkdir -p "$tmp/readme"
    cd "$tmp/readme"
    local out array state i
    out=$(STDP_FLOW=$bin sbatch --parsable --array=0-$((shards - 1)) \
        "$repo/examples/cluster/slurm-array.sh" "../tiny experiment.toml" "$shards")
    array=${out%%;*}
    say "    job array $array"
    wait_jobs 300 "$array"
    for ((i = 0; i < shards; i++)); do
        state=$(job_state "${array}_$i")
        [[ $state == COMPLETED ]] || { say "task $i ended ${state:-?}"; return 1; }
    done
    "$bin" merge "shards/$name"/shard-*-of-$shards.json --out "results/$name" --threads 1 2>&1 | sed 's/^/    /' >&2
    same_results "$tmp/readme/results/$name" "$tmp/unsharded"
}

# 3b. A failing shard: the merge job is cancelled (not left pending), the task's log says why.
check_failure() {
    mkdir -p "$tmp/work-fail"
    cd "$tmp/work-fail"
    cat >"$tmp/bin/failing-stdp-flow" <<WRAPPER
#!/bin/sh
if [ "\${SLURM_ARRAY_TASK_ID:-}" = 2 ]; then echo "injected failure of task 2" >&2; exit 3; fi
exec "$bin" "\$@"
WRAPPER
    chmod 755 "$tmp/bin/failing-stdp-flow"
    local out array merge state
    out=$(STDP_FLOW=$tmp/bin/failing-stdp-flow "$repo/examples/cluster/slurm-submit.sh" "../tiny experiment.toml" "$shards")
    array=$(sed -n 's/^array_job_id=//p' <<<"$out")
    merge=$(sed -n 's/^merge_job_id=//p' <<<"$out")
    say "    job array $array, merge job $merge"
    wait_jobs 300 "$array" "$merge"
    state=$(job_state "${array}_2")
    [[ $state == FAILED ]] || { say "task 2 ended ${state:-?}, not FAILED"; return 1; }
    state=$(job_state "$merge")
    [[ $state == CANCELLED ]] || { say "merge job ended ${state:-?}, not CANCELLED"; return 1; }
    grep -q 'injected failure of task 2' "shards/$name/logs/shard-2-of-$shards.$array.log" ||
        { say "the log of task 2 does not say why it failed"; return 1; }
    [[ ! -e results/$name ]] || { say "results/$name was written"; return 1; }
}

check "slurm-submit.sh refuses --cpus-per-task=$((cpus + 1)) on a $cpus-CPU node, submitting nothing" check_refuses
check "slurm-submit.sh EXPERIMENT $shards: shards + dependent merge == unsharded run" check_driver
check "slurm-submit.sh when shard 2 of $shards fails: merge cancelled, error in the shard's log" check_failure
check "sbatch --array=0-$((shards - 1)) slurm-array.sh EXPERIMENT $shards, then merge == unsharded run" check_readme
done_=1
