# stdp-flow tasks. Every recipe is a plain cargo command; `just` is optional.

# Run the test suite (the same command CI runs).
test:
    cargo test --release

# Run one experiment file.
run experiment="experiments/theorem1-corrected.toml":
    cargo run --release -- run {{experiment}}

# Regenerate results/: every experiment at full size, figures and results/REPORT.md.
verify:
    cargo run --release -- verify

# Smoke test of the whole pipeline in about 40 seconds (writes target/verify-quick, not results/).
verify-quick:
    cargo run --release -- verify --quick --out target/verify-quick

# Statistical test suite at full size, on two seeds.
nightly:
    cargo test --release -- --ignored

# Redraw the figures of a results folder from its summary.json.
plot dir="results/theorem1-corrected":
    cargo run --release -- plot {{dir}}

# Kernel throughput against the random-number floor (see README, "Performance").
bench:
    cargo run --release -- bench --repeat 3

# Peer implementations (NumPy, Numba, JAX): check against the engine, then time them side by side
# with `stdp-flow run` (tools/peers/README.md). Installs numba/jax with pip if missing.
peers:
    tools/peers/run.sh
