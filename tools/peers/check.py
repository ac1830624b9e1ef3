#!/usr/bin/env python3
"""Statistical check of the peers against the engine (tools/peers/README.md, "The check").

Runs `stdp-flow run tools/peers/check.toml --out /tmp/peers-engine` (logistic d = 32, corrected
scaling, n = 200, M = 2000, seed 1) unless --no-engine, then each peer on the same case, and
compares each peer's mean sup |theta - Z|^2 with the engine's by a z-test:
    z = (mean_peer - mean_engine) / sqrt(se_peer^2 + se_engine^2),  pass if |z| < 4.
The generators differ, so the two means are independent estimates of the same expectation; if
the implementations agree, z is approximately standard normal and one comparison fails
falsely with probability P(|N(0,1)| >= 4) = 6.3e-5 (about 2.5e-4 for the four comparisons).
Also, deterministically: numpy_lockstep with --processes 1 uses the draw order of
tools/oracle/oracle.py, so its mean must equal the oracle's to rounding (relative 1e-9).
Exit status 1 if any comparison fails.
"""
import argparse
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=HERE).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                                 "release", "stdp-flow"))
    p.add_argument("--engine", default="/tmp/peers-engine")
    p.add_argument("--no-engine", action="store_true", help="reuse the engine's summary.json in --engine")
    a = p.parse_args()
    n, M, seed = 200, 2000, 1
    if not a.no_engine:
        subprocess.run(["rm", "-rf", a.engine], check=True)
        subprocess.run([a.bin, "run", os.path.join(HERE, "check.toml"), "--out", a.engine, "--quiet"],
                       check=True, cwd=ROOT)
    s = json.load(open(os.path.join(a.engine, "summary.json")))
    row = next(r for r in s["rows"] if int(r["n"]) == n)
    em, es = row["sup_sq_error"]["mean"], row["sup_sq_error"]["std_error"]
    common_args = ["--n", str(n), "--trajectories", str(M), "--seed", str(seed)]
    peers = [
        ("numpy_lockstep P=1", [sys.executable, "numpy_lockstep.py", "--processes", "1"]),
        ("numpy_lockstep P=2", [sys.executable, "numpy_lockstep.py", "--processes", "2"]),
        ("numba_prange", [sys.executable, "numba_prange.py"]),
        ("jax_scan", [sys.executable, "jax_scan.py"]),
    ]
    print(f"check: logistic d=32, corrected alpha=A=1, n={n}, M={M}, seed={seed}")
    print(f"{'implementation':<22}{'mean sup|th-Z|^2':>18}{'std error':>12}{'z':>8}  result")
    print(f"{'stdp-flow (engine)':<22}{em:>18.6e}{es:>12.3e}{'':>8}")
    ok = True
    results = {}
    for name, cmd in peers:
        r = run_json(cmd + common_args)
        m, se = r["sup_sq_error_mean"], r["sup_sq_error_std_error"]
        z = (m - em) / math.sqrt(se * se + es * es)
        good = abs(z) < 4.0 and r["all_finite"]
        ok &= good
        results[name] = r
        print(f"{name:<22}{m:>18.6e}{se:>12.3e}{z:>8.2f}  {'pass' if good else 'FAIL'}")
    # deterministic: numpy P=1 against the oracle (same generator, same draw order)
    x = ",".join([repr(1 / math.sqrt(32))] * 32)
    th0 = ",".join(["0"] * 32)
    o = run_json([sys.executable, os.path.join(ROOT, "tools", "oracle", "oracle.py"), "--loss", "logistic",
                  "--x", x, "--theta0", th0, "--rule", "corrected", "--alpha", "1", "--a", "1",
                  "--drift", "limit", "--n", str(n), "--m", str(M), "--seed", str(seed)])
    rel = abs(results["numpy_lockstep P=1"]["sup_sq_error_mean"] - o["mean_sup_sq"]) / o["mean_sup_sq"]
    good = rel < 1e-9
    ok &= good
    print(f"numpy_lockstep P=1 vs tools/oracle/oracle.py (same draws): {o['mean_sup_sq']:.10e}, "
          f"relative difference {rel:.1e}  {'pass' if good else 'FAIL'}")
    print("z-test: |z| < 4 passes; false-failure probability 6.3e-5 per comparison "
          "(2.5e-4 for all four)")
    print("check", "passed" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
