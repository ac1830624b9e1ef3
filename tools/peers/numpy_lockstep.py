#!/usr/bin/env python3
"""Peer 1: NumPy, all trajectories of a chunk advanced in lockstep as (M, d) float64 arrays.

--processes P splits the M trajectories over P worker processes (multiprocessing, fork), each
with its own generator: numpy default_rng(seed) for P = 1 (then the draw order is that of
tools/oracle/oracle.py: U(0), U(1), ..., each (M, d)), SeedSequence(seed).spawn(P) for P > 1.
"""
import os
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
import multiprocessing as mp
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

_Z = None  # the flow path, inherited by forked workers


def simulate(M, n, seed_seq):
    Z = _Z
    d = common.D
    alpha_n, a_n, _ = common.scaling(n)
    x = common.x_vec()
    y = common.Y
    rng = np.random.default_rng(seed_seq)
    zz = np.einsum("ld,ld->l", Z, Z)  # |Z(t_l)|^2
    th = np.zeros((M, d))  # theta0 = 0
    U = np.empty((M, d))
    E = np.empty((M, d))
    prevE = np.empty((M, d))
    V = np.empty((M, d))

    def draw(out):
        rng.random(out=out)
        out *= 2.0 * a_n
        out -= a_n  # = -a_n + 2 a_n r, as rng.uniform(-a_n, a_n)

    def loss(v):  # softplus(-y x.v), stable
        return np.logaddexp(0.0, -y * (v @ x))

    draw(U)  # U(0)
    np.add(th, U, out=V)
    prevL = loss(V)  # L(theta(-1) + U(0))
    np.negative(U, out=prevE)
    np.exp(prevE, out=prevE)
    # S at l = 0: |theta0 - Z(0)|^2 and |theta0 - Z(1/n)|^2
    S = np.maximum(np.sum((th - Z[0]) ** 2, 1), np.sum((th - Z[1]) ** 2, 1))
    for l in range(1, n + 1):
        draw(U)  # U(l)
        np.add(th, U, out=V)
        curL = loss(V)  # L(theta(l-1) + U(l))
        np.negative(U, out=E)
        np.exp(E, out=E)
        np.subtract(E, prevE, out=V)
        V *= (alpha_n * (curL - prevL))[:, None]
        th += V
        prevL = curL
        E, prevE = prevE, E
        # |theta - z|^2 = |theta|^2 - 2 theta.z + |z|^2 for z = Z(l/n) and Z((l+1)/n)
        tt = np.einsum("md,md->m", th, th)
        if l < n:
            tz = th @ Z[l:l + 2].T  # (M, 2)
            e = np.maximum(zz[l] - 2.0 * tz[:, 0], zz[l + 1] - 2.0 * tz[:, 1])
        else:
            e = zz[l] - 2.0 * (th @ Z[l])
        e += tt
        np.maximum(S, e, out=S)
    return S


def _worker(job):
    M, n, ss = job
    return simulate(M, n, ss)


def run(n, M, seed, P):
    global _Z
    _, _, kappa = common.scaling(n)
    _Z = common.rk4_path(n, kappa)
    if P == 1:
        return simulate(M, n, np.random.SeedSequence(seed))
    sizes = [M // P + (1 if i < M % P else 0) for i in range(P)]
    seqs = np.random.SeedSequence(seed).spawn(P)
    ctx = mp.get_context("fork")
    with ctx.Pool(P) as pool:
        parts = pool.map(_worker, [(m, n, s) for m, s in zip(sizes, seqs)])
        pool.close()
        pool.join()
    return np.concatenate(parts)


def main():
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--processes", type=int, choices=[1, 2], default=1)
    a = p.parse_args()
    with common.Timer() as t:
        S = run(a.n, a.trajectories, a.seed, a.processes)
    common.report(f"numpy_lockstep[P={a.processes}]", a, a.processes,
                  f"{a.processes} process(es), one thread each", None, t.seconds, t.cpu, S)


if __name__ == "__main__":
    main()
