# shellcheck shell=bash
# Shared by gnu-parallel.sh and slurm-submit.sh (sourced, not run). Expects a `fail` function.

# experiment_name FILE: the experiment's top-level `name` key (letters, digits, '-' and '_'),
# which names shards/ and results/.
experiment_name() {
    sed -n -E -e '/^[[:space:]]*\[/q' \
        -e "/^[[:space:]]*name[[:space:]]*=/{s/^[[:space:]]*name[[:space:]]*=[[:space:]]*[\"']([A-Za-z0-9_-]+)[\"'].*/\\1/p;q;}" "$1"
}

# find_binary HERE: the stdp-flow binary as an absolute path: $STDP_FLOW, else stdp-flow on PATH,
# else the release build of the checkout that holds HERE (examples/cluster/).
find_binary() {
    local bin
    if [[ -n ${STDP_FLOW:-} ]]; then
        bin=$(command -v "$STDP_FLOW" 2>/dev/null) || fail "STDP_FLOW=$STDP_FLOW is not an executable"
    elif bin=$(command -v stdp-flow 2>/dev/null); then
        :
    elif [[ -x $1/../../target/release/stdp-flow ]]; then
        bin=$1/../../target/release/stdp-flow
    else
        fail "cannot find stdp-flow: set STDP_FLOW=/path/to/stdp-flow, put it on PATH, or run cargo build --release"
    fi
    readlink -f "$bin"
}
