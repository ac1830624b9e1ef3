#!/usr/bin/env python3
"""Independent numpy reference fit of L2-regularised binary logistic regression
on data/wdbc.csv with the split in tools/baseline/split-seed1.csv.

Objective (scikit-learn LogisticRegression(C=1.0) primal, intercept unpenalised):
    F(w, b) = 0.5*|w|^2 + C * sum_i log(1 + exp(-y_i (w.x_i + b))),  y_i in {-1,+1}

Primary solver: damped Newton (Cholesky solve, backtracking Armijo line search),
iterated until max|grad F| < 1e-10.
Check solver: dense BFGS with Armijo backtracking (no Hessian used), to a looser
tolerance; the two coefficient vectors must agree to 1e-6 in every entry.

Written without reading the Rust sources in src/.
"""
import csv
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "data", "wdbc.csv")
SPLIT = os.path.join(HERE, "split-seed1.csv")
OUT = os.path.join(HERE, "results.txt")

LABEL = "diagnosis"
C = 1.0
NEWTON_TOL = 1e-10
CHECK_TOL = 1e-8
AGREE_TOL = 1e-6


# ----------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------
def load_data(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))  # csv module handles RFC-4180 quoting
    header = [h.strip() for h in rows[0]]
    body = [r for r in rows[1:] if len(r) > 0]  # ignore fully empty lines only
    if header.count(LABEL) != 1:
        raise SystemExit(f"expected exactly one '{LABEL}' column, header={header}")
    li = header.index(LABEL)
    feat_idx = [j for j in range(len(header)) if j != li]
    for k, r in enumerate(body):
        if len(r) != len(header):
            raise SystemExit(f"row {k}: {len(r)} fields, expected {len(header)}")
    labels = [r[li] for r in body]
    X = np.array([[float(r[j]) for j in feat_idx] for r in body], dtype=np.float64)
    if not np.all(np.isfinite(X)):
        raise SystemExit("non-finite feature value")
    classes = sorted(set(labels))
    if len(classes) != 2:
        raise SystemExit(f"expected 2 classes, got {classes}")
    cls_index = np.array([classes.index(v) for v in labels])
    y = np.where(cls_index == 1, 1.0, -1.0)
    return X, y, classes, [header[j] for j in feat_idx]


def load_split(path, n):
    with open(path, newline="") as f:
        rdr = csv.DictReader(f)
        pairs = [(int(r["row"]), r["set"].strip()) for r in rdr]
    idx = sorted(p[0] for p in pairs)
    if idx != list(range(n)):
        raise SystemExit("split file does not list every data row exactly once")
    sets = {s for _, s in pairs}
    if not sets <= {"train", "test"}:
        raise SystemExit(f"unexpected set names {sets}")
    is_train = np.zeros(n, dtype=bool)
    for r, s in pairs:
        is_train[r] = s == "train"
    return is_train


# ----------------------------------------------------------------------------
# Objective
# ----------------------------------------------------------------------------
def log1pexp(t):
    """log(1 + exp(t)) computed stably."""
    return np.logaddexp(0.0, t)


def sigmoid(t):
    out = np.empty_like(t)
    pos = t >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-t[pos]))
    e = np.exp(t[~pos])
    out[~pos] = e / (1.0 + e)
    return out


class Problem:
    """Parameters theta = (w_1..w_p, b); Z = [X, 1]."""

    def __init__(self, X, y, C):
        self.Z = np.hstack([X, np.ones((X.shape[0], 1))])
        self.y = y
        self.C = C
        self.p = X.shape[1]
        self.reg = np.ones(self.p + 1)
        self.reg[-1] = 0.0  # intercept not penalised

    def value(self, th):
        m = self.y * (self.Z @ th)
        return 0.5 * np.sum(self.reg * th * th) + self.C * np.sum(log1pexp(-m))

    def grad(self, th):
        m = self.y * (self.Z @ th)
        # d/dm log(1+exp(-m)) = -sigmoid(-m)
        r = -self.y * sigmoid(-m)
        return self.reg * th + self.C * (self.Z.T @ r)

    def hess(self, th):
        s = sigmoid(self.Z @ th)
        d = s * (1.0 - s)
        return np.diag(self.reg) + self.C * (self.Z.T * d) @ self.Z


def armijo(prob, th, f, g, d, c1=1e-4, shrink=0.5, max_halvings=80):
    slope = g @ d
    if slope >= 0:
        raise RuntimeError("not a descent direction")
    t = 1.0
    for _ in range(max_halvings):
        th_new = th + t * d
        f_new = prob.value(th_new)
        if f_new <= f + c1 * t * slope:
            return th_new, f_new
        t *= shrink
    # Near the optimum the Armijo test can fail only from rounding in f;
    # accept the step if it doesn't increase the gradient norm.
    th_new = th + d
    if np.max(np.abs(prob.grad(th_new))) < np.max(np.abs(g)):
        return th_new, prob.value(th_new)
    raise RuntimeError("line search failed")


def newton(prob, tol=NEWTON_TOL, max_iter=200):
    th = np.zeros(prob.p + 1)
    f = prob.value(th)
    for it in range(max_iter + 1):
        g = prob.grad(th)
        gmax = np.max(np.abs(g))
        if gmax < tol:
            return th, it, gmax
        H = prob.hess(th)
        L = np.linalg.cholesky(H)
        d = -np.linalg.solve(L.T, np.linalg.solve(L, g))
        th, f = armijo(prob, th, f, g, d)
    raise RuntimeError(f"Newton did not converge: max|g|={gmax:.3e}")


def bfgs(prob, tol=CHECK_TOL, max_iter=20000):
    n = prob.p + 1
    th = np.zeros(n)
    f = prob.value(th)
    g = prob.grad(th)
    Hinv = np.eye(n)
    for it in range(max_iter + 1):
        gmax = np.max(np.abs(g))
        if gmax < tol:
            return th, it, gmax
        d = -Hinv @ g
        if g @ d >= 0:  # safeguard: reset to steepest descent
            Hinv = np.eye(n)
            d = -g
        th_new, f = armijo(prob, th, f, g, d)
        g_new = prob.grad(th_new)
        s = th_new - th
        yv = g_new - g
        sy = s @ yv
        if sy > 1e-12 * np.linalg.norm(s) * np.linalg.norm(yv):
            rho = 1.0 / sy
            I = np.eye(n)
            Hinv = (I - rho * np.outer(s, yv)) @ Hinv @ (I - rho * np.outer(yv, s)) \
                + rho * np.outer(s, s)
        th, g = th_new, g_new
    raise RuntimeError(f"BFGS did not converge: max|g|={gmax:.3e}")


# ----------------------------------------------------------------------------
def main():
    X, y, classes, names = load_data(DATA)
    n, p = X.shape
    is_train = load_split(SPLIT, n)
    Xtr, ytr = X[is_train], y[is_train]
    Xte, yte = X[~is_train], y[~is_train]

    mu = Xtr.mean(axis=0)
    sd = Xtr.std(axis=0, ddof=1)
    if np.any(sd == 0):
        raise SystemExit("zero-variance feature in training rows")
    Xtr = (Xtr - mu) / sd
    Xte = (Xte - mu) / sd

    prob = Problem(Xtr, ytr, C)
    th, iters, gmax = newton(prob)
    th2, iters2, gmax2 = bfgs(prob)
    diff = np.max(np.abs(th - th2))
    assert diff < AGREE_TOL, f"Newton and BFGS disagree: max|diff|={diff:.3e}"

    w, b = th[:-1], th[-1]
    ftr = Xtr @ w + b
    fte = Xte @ w + b
    train_acc = np.mean(np.where(ftr > 0, 1.0, -1.0) == ytr)
    test_acc = np.mean(np.where(fte > 0, 1.0, -1.0) == yte)
    test_logloss = np.mean(log1pexp(-yte * fte))

    lines = [
        f"classes {classes[0]},{classes[1]}",
        f"features {p}",
        f"train_rows {Xtr.shape[0]}",
        f"test_rows {Xte.shape[0]}",
        f"train_accuracy {repr(float(train_acc))}",
        f"test_accuracy {repr(float(test_acc))}",
        f"test_logloss {repr(float(test_logloss))}",
        f"objective {repr(float(prob.value(th)))}",
        f"iterations {iters}",
        f"grad_maxabs {repr(float(gmax))}",
        f"check_method bfgs",
        f"check_iterations {iters2}",
        f"check_grad_maxabs {repr(float(gmax2))}",
        f"check_max_coef_diff {repr(float(diff))}",
    ]
    lines += [f"coef_{j} {repr(float(v))}" for j, v in enumerate(th)]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(OUT, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
