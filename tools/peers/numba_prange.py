#!/usr/bin/env python3
"""Peer 2: Numba @njit(parallel=True), prange over trajectories, float64.

Each trajectory runs its n steps alone with its own generator: xoshiro256** seeded by
splitmix64 from (seed, trajectory index), uniforms (u >> 11) 2^-53 on [0, 1), mapped to
[-A_n, A_n]. Results therefore do not depend on the thread count. The flow Z is integrated by
RK4 in an @njit function. Compile time (the first call, on n = 4, M = 2) is reported apart.
"""
import os
import sys

import numpy as np
import numba
from numba import njit, prange, uint64

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# contract/reassociate (vectorised reductions); no 'nnan'/'ninf' assumptions
FASTMATH = {"contract", "reassoc", "nsz", "arcp", "afn"}


@njit(inline="always")
def rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(inline="always")
def splitmix64(s):
    s = s + uint64(0x9E3779B97F4A7C15)
    z = s
    z = (z ^ (z >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> uint64(27))) * uint64(0x94D049BB133111EB)
    return s, z ^ (z >> uint64(31))


@njit(inline="always")
def next_u01(st):
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    result = rotl(s1 * uint64(5), 7) * uint64(9)
    t = s1 << uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotl(s3, 45)
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
    return float(result >> uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=False)
def rk4_path(n, kappa, x, y):
    d = x.size
    h = 1.0 / n
    out = np.empty((n + 1, d))
    z = np.zeros(d)
    out[0] = z

    def coef(v):  # -kappa grad L(v) = coef * x
        m = 0.0
        for j in range(d):
            m += x[j] * v[j]
        m = -y * m
        sig = 0.5 * (1.0 + np.tanh(0.5 * m))
        return kappa * y * sig

    for l in range(n):
        c1 = coef(z)
        c2 = coef(z + (0.5 * h * c1) * x)
        c3 = coef(z + (0.5 * h * c2) * x)
        c4 = coef(z + (h * c3) * x)
        z = z + ((h / 6.0) * (c1 + 2.0 * c2 + 2.0 * c3 + c4)) * x
        out[l + 1] = z
    return out


@njit(inline="always")
def softplus(m):
    if m > 0.0:
        return m + np.log1p(np.exp(-m))
    return np.log1p(np.exp(m))


@njit(parallel=True, fastmath=FASTMATH)
def simulate(n, M, seed, alpha_n, a_n, x, y, Z):
    d = x.size
    S = np.empty(M)
    for i in prange(M):
        st = np.empty(4, dtype=np.uint64)
        s = uint64(seed) * uint64(0x9E3779B97F4A7C15) + uint64(i)
        for k in range(4):
            s, v = splitmix64(s)
            st[k] = v
        th = np.zeros(d)
        prevE = np.empty(d)
        E = np.empty(d)
        U = np.empty(d)
        # U(0); L(theta0 + U(0)); exp(-U(0))
        m = 0.0
        for j in range(d):
            u = a_n * (2.0 * next_u01(st) - 1.0)
            m += x[j] * (th[j] + u)
            prevE[j] = np.exp(-u)
        prevL = softplus(-y * m)
        e0 = 0.0
        e1 = 0.0
        for j in range(d):
            e0 += (th[j] - Z[0, j]) ** 2
            e1 += (th[j] - Z[1, j]) ** 2
        sup = max(e0, e1)
        for l in range(1, n + 1):
            for j in range(d):  # U(l): the generator is serial
                U[j] = a_n * (2.0 * next_u01(st) - 1.0)
            m = 0.0
            for j in range(d):  # exp and the dot product vectorise apart from it
                m += x[j] * (th[j] + U[j])
                E[j] = np.exp(-U[j])
            curL = softplus(-y * m)
            c = alpha_n * (curL - prevL)
            prevL = curL
            e0 = 0.0
            e1 = 0.0
            zl = Z[l]
            zr = Z[min(l + 1, n)]  # at l = n only Z(T) counts: then zr = zl
            for j in range(d):
                t = th[j] + c * (E[j] - prevE[j])
                th[j] = t
                prevE[j] = E[j]
                e0 += (t - zl[j]) ** 2
                e1 += (t - zr[j]) ** 2
            sup = max(sup, max(e0, e1))
        S[i] = sup
    return S


def run(n, M, seed):
    alpha_n, a_n, kappa = common.scaling(n)
    x = common.x_vec()
    Z = rk4_path(n, kappa, x, common.Y)
    return simulate(n, M, seed, alpha_n, a_n, x, common.Y, Z)


def main():
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=None, help="numba threads (default: all cores)")
    a = p.parse_args()
    if a.threads:
        numba.set_num_threads(a.threads)
    threads = numba.get_num_threads()
    with common.Timer() as tc:
        run(4, 2, a.seed)  # compiles rk4_path and simulate
    with common.Timer() as t:
        S = run(a.n, a.trajectories, a.seed)
    common.report("numba_prange", a, threads, f"{threads} numba threads ({numba.config.THREADING_LAYER})",
                  tc.seconds, t.seconds, t.cpu, S,
                  {"numba": numba.__version__, "threading_layer": numba.threading_layer()})


if __name__ == "__main__":
    main()
