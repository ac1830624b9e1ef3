"""Shared pieces of the peer implementations (tools/peers/README.md).

The workload of issue 16: eq. (3.2) of Christensen & Kallsen, logistic loss in d = 32 with
x = (1/sqrt 32, ..., 1/sqrt 32), y = 1, theta0 = 0, corrected scaling with alpha = A = 1
(alpha_n = alpha, A_n = A n^(-1/2); docs/model.md section 2), reference flow
dZ/dt = -kappa grad L(Z) with kappa = (2/3) alpha A^2 (drift "limit"), RK4 on t_l = l/n, T = 1.
Per trajectory S_n = max over l of |theta(l) - Z(l/n)|^2 and, for l < n, |theta(l) - Z((l+1)/n)|^2
(docs/model.md section 1.3, the same as tools/oracle/oracle.py).
"""
import argparse
import json
import math
import os
import time

D = 32
ALPHA = 1.0
A = 1.0
Y = 1.0
T = 1.0


def x_vec():
    import numpy as np
    return np.full(D, 1.0 / math.sqrt(D))


def scaling(n):
    """(alpha_n, A_n, kappa) of rule = "corrected", drift = "limit"."""
    return ALPHA, A * n ** -0.5, (2.0 / 3.0) * ALPHA * A * A


def rk4_path(n, kappa):
    """Z(l/n), l = 0..n, by classical RK4 with step 1/n (numpy; (n+1, D))."""
    import numpy as np
    x = x_vec()
    h = T / n
    z = np.zeros(D)
    out = np.empty((n + 1, D))
    out[0] = z

    def f(v):
        m = -Y * float(v @ x)
        sig = 0.5 * (1.0 + math.tanh(0.5 * m))  # sigmoid(m)
        return (kappa * Y * sig) * x  # -kappa grad L

    for l in range(n):
        k1 = f(z)
        k2 = f(z + 0.5 * h * k1)
        k3 = f(z + 0.5 * h * k2)
        k4 = f(z + h * k3)
        z = z + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        out[l + 1] = z
    return out


def parser(desc):
    p = argparse.ArgumentParser(description=desc)
    p.add_argument("--n", type=int, default=2000, help="updates per unit time (steps = n, T = 1)")
    p.add_argument("--trajectories", "-M", type=int, default=4000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--check", action="store_true",
                   help="compare with the engine's value (tools/peers/check.py does this for all peers)")
    p.add_argument("--engine", default="/tmp/peers-engine",
                   help="output folder of `stdp-flow run tools/peers/check.toml` (for --check)")
    return p


def stats(S):
    import numpy as np
    S = np.asarray(S, dtype=np.float64)
    M = S.size
    finite = bool(np.all(np.isfinite(S)))
    return float(S.mean()), float(S.std(ddof=1) / math.sqrt(M)), finite


def cpu_seconds():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def report(impl, args, cores, cores_note, compile_s, compute_s, cpu_s, S, extra=None):
    mean, se, finite = stats(S)
    updates = args.n * args.trajectories * D
    out = {
        "impl": impl,
        "workload": "logistic d=32, corrected alpha=A=1, theta0=0, T=1",
        "n": args.n,
        "trajectories": args.trajectories,
        "d": D,
        "seed": args.seed,
        "compile_seconds": compile_s,
        "compute_seconds": compute_s,
        "cpu_seconds": cpu_s,
        "cores": cores,
        "cores_note": cores_note,
        "ns_per_coordinate_update": compute_s * cores / updates * 1e9,
        "cpu_ns_per_coordinate_update": cpu_s / updates * 1e9,
        "effective_cores": cpu_s / compute_s,
        "sup_sq_error_mean": mean,
        "sup_sq_error_std_error": se,
        "all_finite": finite,
    }
    if extra:
        out.update(extra)
    if args.check:
        eng = engine_value(args.engine, args.n)
        z = (mean - eng[0]) / math.sqrt(se * se + eng[1] * eng[1])
        out["check"] = {"engine_mean": eng[0], "engine_std_error": eng[1], "z": z,
                        "pass": bool(abs(z) < 4.0)}
    print(json.dumps(out), flush=True)
    return out


def engine_value(folder, n):
    """(mean, std_error) of sup_sq_error at n from an engine summary.json."""
    s = json.load(open(os.path.join(folder, "summary.json")))
    for r in s["rows"]:
        if int(r["n"]) == n:
            return float(r["sup_sq_error"]["mean"]), float(r["sup_sq_error"]["std_error"])
    raise SystemExit(f"no row with n = {n} in {folder}/summary.json")


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        self.c0 = cpu_seconds()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.cpu = cpu_seconds() - self.c0
