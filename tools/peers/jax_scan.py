#!/usr/bin/env python3
"""Peer 3: JAX (float64 via jax_enable_x64): jit + vmap over trajectories + lax.scan over steps.

One trajectory is a lax.scan over l = 1..n carrying (theta, L(theta(l-2) + U(l-1)),
exp(-U(l-1)), running sup, key); vmap maps it over M keys (jax.random.split of PRNGKey(seed)),
jit compiles the whole. The flow Z is a second lax.scan (RK4). The program is compiled ahead of
time for the actual shapes (jit(...).lower(...).compile()), and that compile time is reported
apart from the compute time. --prng picks JAX's generator (threefry2x32, the default, or rbg).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def build(n, M, prng):
    import jax
    jax.config.update("jax_enable_x64", True)
    if prng != "threefry2x32":
        jax.config.update("jax_default_prng_impl", prng)
    import jax.numpy as jnp
    from jax import lax

    alpha_n, a_n, kappa = common.scaling(n)
    d = common.D
    x = jnp.full(d, 1.0 / jnp.sqrt(float(d)), dtype=jnp.float64)
    y = common.Y
    h = 1.0 / n

    def loss(v):
        return jax.nn.softplus(-y * jnp.dot(v, x))

    def field(z):  # -kappa grad L(z)
        return kappa * y * jax.nn.sigmoid(-y * jnp.dot(z, x)) * x

    def flow():
        def step(z, _):
            k1 = field(z)
            k2 = field(z + 0.5 * h * k1)
            k3 = field(z + 0.5 * h * k2)
            k4 = field(z + h * k3)
            z = z + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            return z, z
        z0 = jnp.zeros(d)
        _, zs = lax.scan(step, z0, None, length=n)
        return jnp.concatenate([z0[None], zs])  # (n+1, d)

    def trajectory(key, Z):
        zl = Z[1:]                                   # Z(l/n), l = 1..n
        zr = jnp.concatenate([Z[2:], Z[n:n + 1]])    # Z((l+1)/n); at l = n only Z(T) counts
        th0 = jnp.zeros(d)
        key, sub = jax.random.split(key)
        u0 = jax.random.uniform(sub, (d,), jnp.float64, -a_n, a_n)
        prevL = loss(th0 + u0)
        prevE = jnp.exp(-u0)
        sup0 = jnp.maximum(jnp.sum((th0 - Z[0]) ** 2), jnp.sum((th0 - Z[1]) ** 2))

        def step(carry, zs):
            th, prevL, prevE, sup, key = carry
            key, sub = jax.random.split(key)
            u = jax.random.uniform(sub, (d,), jnp.float64, -a_n, a_n)
            curL = loss(th + u)
            E = jnp.exp(-u)
            th = th + alpha_n * (curL - prevL) * (E - prevE)
            e = jnp.maximum(jnp.sum((th - zs[0]) ** 2), jnp.sum((th - zs[1]) ** 2))
            return (th, curL, E, jnp.maximum(sup, e), key), None

        (th, _, _, sup, _), _ = lax.scan(step, (th0, prevL, prevE, sup0, key), (zl, zr))
        return sup

    def simulate(keys):
        Z = flow()
        return jax.vmap(trajectory, in_axes=(0, None))(keys, Z)

    return jax, jax.jit(simulate)


def main():
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--prng", default="threefry2x32", choices=["threefry2x32", "rbg", "unsafe_rbg"])
    a = p.parse_args()
    with common.Timer() as ti:
        jax, sim = build(a.n, a.trajectories, a.prng)
        keys = jax.random.split(jax.random.PRNGKey(a.seed), a.trajectories)
        keys.block_until_ready()
    with common.Timer() as tc:
        compiled = sim.lower(keys).compile()
    with common.Timer() as t:
        S = compiled(keys)
        S.block_until_ready()
    import numpy as np
    cores = os.cpu_count()
    common.report("jax_scan", a, cores,
                  f"XLA:CPU may use all {cores} cores; see cpu_seconds for what it used",
                  tc.seconds, t.seconds, t.cpu, np.asarray(S),
                  {"jax": jax.__version__, "prng": a.prng, "setup_seconds": ti.seconds,
                   "device": str(jax.devices()[0])})


if __name__ == "__main__":
    main()
