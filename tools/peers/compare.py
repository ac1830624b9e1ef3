#!/usr/bin/env python3
"""Times the peers side by side with `stdp-flow run` on the workload of issue 16.

Sizes: n = 2000, M = 4000 and n = 20000, M = 1024 (logistic d = 32, corrected alpha = A = 1,
seed 1). Every repeat runs every implementation once, in an order rotated by one each repeat
(so the implementations alternate), each in a fresh process; best of --repeat (3). For the
engine the time is the whole process `stdp-flow run tools/peers/bench-n<n>.toml --quiet`
(it includes the fluctuation-limit prediction and the figures; its own simulation seconds,
from provenance.json, are shown too). For a peer the time is its compute seconds (compile or
JIT time reported apart, and whole-process time shown as well). Ratios are peer / stdp-flow.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
D = 32


def sh(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)


def machine(bin_):
    model = "?"
    for line in sh(["lscpu"]).stdout.splitlines():
        if line.startswith("Model name"):
            model = line.split(":", 1)[1].strip()
    r = sh([bin_, "bench", "--only", "logistic", "--scale", "0.01"])
    isa = "?"
    for line in (r.stdout + r.stderr).splitlines():
        if "instruction set" in line:
            isa = line.strip()
    return model, isa


def engine_toml(n, M):
    """tools/peers/bench-n<n>.toml if it has these sizes, else a copy of bench-n2000.toml made for them."""
    path = os.path.join(HERE, f"bench-n{n}.toml")
    if os.path.exists(path) and f"trajectories = {M}\n" in open(path).read():
        return path
    text = open(os.path.join(HERE, "bench-n2000.toml")).read()
    text = text.replace("n = [2000]", f"n = [{n}]").replace("trajectories = 4000", f"trajectories = {M}")
    path = f"/tmp/peers-bench-n{n}-M{M}.toml"
    open(path, "w").write(text)
    return path


def run_engine(bin_, n, M):
    out = f"/tmp/peers-bench-n{n}"
    t0 = time.perf_counter()
    r = sh([bin_, "run", engine_toml(n, M), "--out", out, "--quiet"])
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"stdp-flow failed: {r.stderr}")
    prov = json.load(open(os.path.join(out, "provenance.json")))
    s = json.load(open(os.path.join(out, "summary.json")))
    row = s["rows"][0]
    return {"whole": wall, "compute": sum(p["seconds"] for p in prov["parts"]), "compile": None,
            "cores": prov["threads"], "mean": row["sup_sq_error"]["mean"],
            "se": row["sup_sq_error"]["std_error"]}


def run_peer(cmd, n, M):
    t0 = time.perf_counter()
    r = sh([sys.executable] + cmd + ["--n", str(n), "--trajectories", str(M), "--seed", "1"])
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{cmd} failed: {r.stderr}")
    j = json.loads(r.stdout.strip().splitlines()[-1])
    return {"whole": wall, "compute": j["compute_seconds"], "compile": j["compile_seconds"],
            "cores": j["cores"], "cpu": j["cpu_seconds"], "mean": j["sup_sq_error_mean"],
            "se": j["sup_sq_error_std_error"]}


IMPLS = [
    ("stdp-flow run", None),
    ("numpy_lockstep P=1", [os.path.join(HERE, "numpy_lockstep.py"), "--processes", "1"]),
    ("numpy_lockstep P=2", [os.path.join(HERE, "numpy_lockstep.py"), "--processes", "2"]),
    ("numba_prange", [os.path.join(HERE, "numba_prange.py")]),
    ("jax_scan", [os.path.join(HERE, "jax_scan.py")]),
]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                                 "release", "stdp-flow"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--sizes", default="2000:4000,20000:1024", help="n:M,n:M")
    p.add_argument("--json", default="/tmp/peers-timing.json")
    a = p.parse_args()
    sizes = [tuple(int(v) for v in s.split(":")) for s in a.sizes.split(",")]
    model, isa = machine(a.bin)
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"CPU: {model}; {os.cpu_count()} cores visible; load average {os.getloadavg()[0]:.2f}")
    print(f"stdp-flow bench: {isa}")
    all_rows = {}
    for n, M in sizes:
        runs = {name: [] for name, _ in IMPLS}
        for rep in range(a.repeat):
            k = rep % len(IMPLS)
            for name, cmd in IMPLS[k:] + IMPLS[:k]:
                r = run_engine(a.bin, n, M) if cmd is None else run_peer(cmd, n, M)
                runs[name].append(r)
                print(f"  [n={n} M={M} repeat {rep + 1}] {name}: compute {r['compute']:.3f} s, "
                      f"whole {r['whole']:.3f} s", file=sys.stderr, flush=True)
        eng = runs["stdp-flow run"]
        e_whole = min(r["whole"] for r in eng)
        e_sim = min(r["compute"] for r in eng)
        print(f"\nn = {n}, M = {M}, d = {D} (logistic, corrected alpha = A = 1), best of {a.repeat}; "
              f"load average now {os.getloadavg()[0]:.2f}")
        print("| implementation | cores | compile s | compute s | whole process s | ns/coord-update x cores "
              "| spread | peer compute / stdp-flow whole | peer compute / stdp-flow simulation | "
              "mean sup err (se) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        rows = []
        for name, _ in IMPLS:
            rs = runs[name]
            comp = min(r["compute"] for r in rs)
            whole = min(r["whole"] for r in rs)
            spread = (max(r["compute"] for r in rs) - comp) / comp
            comp_s = [r["compile"] for r in rs if r["compile"] is not None]
            compile_ = min(comp_s) if comp_s else None
            cores = rs[0]["cores"]
            ns = comp * cores / (n * M * D) * 1e9
            row = {"impl": name, "cores": cores, "compile": compile_, "compute": comp, "whole": whole,
                   "ns": ns, "spread": spread, "mean": rs[0]["mean"], "se": rs[0]["se"]}
            rows.append(row)
            if name == "stdp-flow run":
                r1, r2 = "1 (whole process)", f"{e_whole / e_sim:.2f} (whole/simulation)"
                comp_txt = f"{comp:.3f} (simulation)"
            else:
                r1, r2 = f"{comp / e_whole:.2f}", f"{comp / e_sim:.2f}"
                comp_txt = f"{comp:.3f}"
            print(f"| {name} | {cores} | {'-' if compile_ is None else f'{compile_:.2f}'} | {comp_txt} | "
                  f"{whole:.3f} | {ns:.2f} | {spread:.0%} | {r1} | {r2} | "
                  f"{row['mean']:.4e} ({row['se']:.1e}) |")
        all_rows[f"{n}:{M}"] = rows
    json.dump({"cpu": model, "isa": isa, "sizes": all_rows}, open(a.json, "w"), indent=1)
    print(f"\n(ns/coord-update x cores = compute seconds x cores / (n M d); raw numbers in {a.json})")


if __name__ == "__main__":
    main()
