#!/usr/bin/env python3
"""Independent NumPy oracle for the Christensen-Kallsen recursion (see /work/shared/paper/NOTES.md).

theta(l) = theta(l-1) + alpha_n [L(theta(l-1)+U(l)) - L(theta(l-2)+U(l-1))] (exp(-U(l)) - exp(-U(l-1)))
theta(-1) = theta(0) = theta0, U(k) iid, coordinates iid Uniform[-A_n, A_n].

M trajectories in lockstep, arrays (M, d). For each n a fresh numpy default_rng(seed) is used;
draw order: U(0) then U(1), ..., U(n), each as rng.uniform(-a_n, a_n, size=(M, d)).
Horizon T = 1; reference flow dZ/dt = -kappa grad L(Z) by classical RK4 with step 1/n.
"""
import os
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import argparse
import json
import math
import sys

import numpy as np

LOG2 = math.log(2.0)


# ---------------------------------------------------------------- losses
class Loss:
    def value(self, th):  # th: (M, d) -> (M,)
        raise NotImplementedError

    def grad(self, z):  # z: (d,) -> (d,)
        raise NotImplementedError


class LogCosh(Loss):
    def __init__(self, c):
        self.c = np.asarray(c, float)

    def value(self, th):
        x = np.abs(th - self.c)
        return np.sum(x + np.log1p(np.exp(-2.0 * x)) - LOG2, axis=-1)

    def grad(self, z):
        return np.tanh(z - self.c)


class Quadratic(Loss):
    def __init__(self, c, h):
        self.c = np.asarray(c, float)
        self.h = np.asarray(h, float)

    def value(self, th):
        return 0.5 * np.sum(self.h * (th - self.c) ** 2, axis=-1)

    def grad(self, z):
        return self.h * (z - self.c)


class Logistic(Loss):
    def __init__(self, x, y):
        self.x = np.asarray(x, float)
        self.y = float(y)

    def value(self, th):
        m = -self.y * (th @ self.x)
        return np.logaddexp(0.0, m)  # stable softplus

    def grad(self, z):
        m = -self.y * float(z @ self.x)
        sig = 0.5 * (1.0 + math.tanh(0.5 * m))  # sigmoid(m), stable
        return -self.y * sig * self.x


class Linear(Loss):
    def __init__(self, g):
        self.g = np.asarray(g, float)

    def value(self, th):
        return th @ self.g

    def grad(self, z):
        return self.g.copy()


# ---------------------------------------------------------------- scaling / drift
def drift_factor(a):
    """2 cosh a - 2 sinh(a)/a, stable for small a (series sum_k 4k a^(2k)/(2k+1)!)."""
    a = float(a)
    if abs(a) < 1.0:
        a2 = a * a
        s, term_pow, k = 0.0, 1.0, 1
        fact = 1.0  # (2k+1)!
        while k < 40:
            term_pow *= a2
            fact = math.factorial(2 * k + 1)
            t = 4.0 * k * term_pow / fact
            s += t
            if t < 1e-18 * s:
                break
            k += 1
        return s
    return 2.0 * math.cosh(a) - 2.0 * math.sinh(a) / a


def scaling(rule, alpha, A, n, beta=None, gamma=None):
    if rule == "paper":
        return alpha, A * n ** (-1.0 / 3.0)
    if rule == "corrected":
        return alpha, A * n ** (-0.5)
    if rule == "power":
        return alpha * n ** (-beta), A * n ** (-gamma)
    raise ValueError(rule)


def kappa_of(drift, rule, alpha, A, n, alpha_n, a_n, beta=None, gamma=None):
    if drift == "paper":
        return 4.0 * alpha
    if drift == "limit":
        ok = rule == "corrected" or (rule == "power" and abs(beta + 2 * gamma - 1) < 1e-12)
        if not ok:
            raise ValueError("drift 'limit' only defined for the corrected rule (or power on beta+2gamma=1)")
        return (2.0 / 3.0) * alpha * A * A
    if drift == "exact":
        return n * alpha_n * drift_factor(a_n)
    return float(drift)


# ---------------------------------------------------------------- flow
def rk4_path(loss, theta0, kappa, n, T=1.0):
    """Z at t = l*T/n, l = 0..n, classical RK4 with step T/n. Returns (n+1, d)."""
    h = T / n
    z = np.array(theta0, float)
    out = np.empty((n + 1, z.size))
    out[0] = z
    f = lambda v: -kappa * loss.grad(v)
    for l in range(n):
        k1 = f(z)
        k2 = f(z + 0.5 * h * k1)
        k3 = f(z + 0.5 * h * k2)
        k4 = f(z + h * k3)
        z = z + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        out[l + 1] = z
    return out


# ---------------------------------------------------------------- recursion
def simulate(loss, theta0, alpha_n, a_n, n, M, rng, Z=None, steps=None):
    """Run `steps` (default n) steps for M trajectories. If Z (n+1,d) given, also return S_n."""
    steps = n if steps is None else steps
    d = len(theta0)
    th = np.tile(np.asarray(theta0, float), (M, 1))
    U = rng.uniform(-a_n, a_n, size=(M, d))  # U(0)
    prevL = loss.value(th + U)  # L(theta(-1) + U(0)), theta(-1) = theta0
    prevE = np.exp(-U)
    S = None
    if Z is not None:
        S = np.maximum(np.sum((th - Z[0]) ** 2, 1), np.sum((th - Z[1]) ** 2, 1))  # l = 0
    for l in range(1, steps + 1):
        U = rng.uniform(-a_n, a_n, size=(M, d))  # U(l)
        curL = loss.value(th + U)  # L(theta(l-1) + U(l))
        E = np.exp(-U)
        th = th + alpha_n * (curL - prevL)[:, None] * (E - prevE)
        prevL, prevE = curL, E
        if Z is not None:
            e0 = np.sum((th - Z[l]) ** 2, 1)
            if l < n:
                e0 = np.maximum(e0, np.sum((th - Z[l + 1]) ** 2, 1))
            np.maximum(S, e0, out=S)
    return th, S


def run_one(loss, theta0, rule, alpha, A, drift, n, M, seed, beta=None, gamma=None):
    alpha_n, a_n = scaling(rule, alpha, A, n, beta, gamma)
    kappa = kappa_of(drift, rule, alpha, A, n, alpha_n, a_n, beta, gamma)
    Z = rk4_path(loss, theta0, kappa, n)
    rng = np.random.default_rng(seed)
    th, S = simulate(loss, theta0, alpha_n, a_n, n, M, rng, Z=Z)
    term = np.sum((th - Z[n]) ** 2, 1)
    mth = th.mean(0)
    sq = lambda v: float(v.std(ddof=1) / math.sqrt(M))
    return {
        "n": n, "M": M, "alpha_n": alpha_n, "a_n": a_n, "kappa": kappa,
        "mean_sup_sq": float(S.mean()), "se_sup_sq": sq(S),
        "mean_term_sq": float(term.mean()), "se_term_sq": sq(term),
        "term_bias2": float(np.sum((mth - Z[n]) ** 2)),
        "term_var": float(np.sum(th.var(0, ddof=1))),
        "mean_theta_n": [float(v) for v in mth],
        "Z1": [float(v) for v in Z[n]],
    }


def vec(s):
    return [float(v) for v in s.split(",")] if s is not None else None


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--loss", required=True, choices=["logcosh", "quadratic", "logistic", "linear"])
    p.add_argument("--center")
    p.add_argument("--curvature")
    p.add_argument("--x")
    p.add_argument("--y", type=float, default=1.0)
    p.add_argument("--g")
    p.add_argument("--theta0", required=True)
    p.add_argument("--rule", required=True, choices=["paper", "corrected", "power"])
    p.add_argument("--alpha", type=float, required=True)
    p.add_argument("--a", type=float, required=True)
    p.add_argument("--beta", type=float)
    p.add_argument("--gamma", type=float)
    p.add_argument("--drift", required=True)
    p.add_argument("--n", required=True)
    p.add_argument("--m", required=True, help="M, or comma list matching --n")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    theta0 = vec(a.theta0)
    d = len(theta0)
    if a.loss == "logcosh":
        loss = LogCosh(vec(a.center) or [0.0] * d)
    elif a.loss == "quadratic":
        loss = Quadratic(vec(a.center) or [0.0] * d, vec(a.curvature) or [1.0] * d)
    elif a.loss == "logistic":
        loss = Logistic(vec(a.x), a.y)
    else:
        loss = Linear(vec(a.g))
    ns = [int(v) for v in a.n.split(",")]
    ms = [int(v) for v in a.m.split(",")]
    if len(ms) == 1:
        ms = ms * len(ns)
    for n, M in zip(ns, ms):
        r = run_one(loss, theta0, a.rule, a.alpha, a.a, a.drift, n, M, a.seed, a.beta, a.gamma)
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
