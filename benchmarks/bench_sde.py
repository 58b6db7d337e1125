"""Benchmarks of the SDE engines, each against its anchor measured in the same run.

Rows (format in ``run_all.py``; ratio = anchor time / our time, higher is better):

1. ``simulate`` vs ``torchsde.sdeint(method="euler", dt=dt)`` on the same OU
   dx = −Ax dt + σ dW (A symmetric positive definite, eigenvalues in [1, ~3]), float32,
   1024 paths × 32 dims × 1000 steps and 64 × 4 × 1000, diagonal and general noise, with the same
   drift/diffusion callables for both. Target ≥ 10×.
2. On CPU: engine time vs the time to draw the same Gaussian increments alone (the bottleneck):
   ratio = draw time / engine time, target ≥ 1/1.3 (engine ≤ 1.3 × draws). The draw anchor is the
   faster of one ``torch.randn(steps, chains, m)`` and the engine's own chunked sampler.
3. On CUDA: 4096 × 256 × 1000 (diagonal noise) vs torchsde (target ≥ 10×) and vs a
   ``jax.lax.scan`` Euler–Maruyama (target: ours within 1.5× of JAX, i.e. ratio ≥ 0.67), for the
   eager loop and the CUDA-graph path. The JAX row appears only when ``import jax`` works.
4. Chambers–Mallows–Stuck ``levy.symmetric_stable`` vs ``scipy.stats.levy_stable.rvs``, 10⁶
   samples, α = 1.5, float64. Target ≥ 2× on CPU, ≥ 50× on CUDA (scipy runs on the CPU).
5. ``sgd_sde`` one step at d = 4000, n = 500 (linear regression, float64, one chain): noise through
   the factor F (O(nd)) vs forming Σ_emp (d×d) and a dense Cholesky square root (O(d²n + d³); Σ_emp
   has rank < n < d so it gets a jitter 1e-8·tr(Σ)/d·I). Time per step, peak memory (measured on
   CUDA, arithmetic of the live tensors on CPU) and the largest d each fits in 8 GiB.

Timings are medians over repeats (benchmarks/_timing.py). ``--quick``: fewer repeats; the torchsde anchor at 1024 × 32 is timed on 250 steps and scaled by
4 (its cost is linear in the number of steps; the note says so).

Run alone: ``python benchmarks/bench_sde.py --device cpu --quick``. On a GPU machine without
torchsde, carry its pure-Python package (and ``trampoline``) and put it on ``PYTHONPATH``.

Seen on an NVIDIA H200 (torch 2.11, JAX 0.11.2, float32): 4096 × 256 × 1000 OU, ours 37 ms eager /
35 ms CUDA graph, JAX scan 31 ms (fp32 matmuls), torchsde 731 ms; CMS 10⁶ samples 0.24 ms vs
scipy 174 ms; sgd_sde step at d = 4000 0.30 ms vs 3.1 ms dense, peak memory 15 MiB vs 397 MiB.
"""
from __future__ import annotations

import math
import os
import statistics
import sys
import time
from pathlib import Path

import torch

try:
    from sgdsde.sde import _Noise, sgd_sde, simulate
except ImportError:  # run from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from sgdsde.sde import _Noise, sgd_sde, simulate
from sgdsde.levy import symmetric_stable
from sgdsde.problems import LinearRegression, gaussian_regression

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import sync as _sync, timeit  # noqa: E402  (one median timer for every benchmark)


def ou_problem(chains, d, device, dtype=torch.float32, seed=0):
    """Drift x ↦ −xAᵀ, diagonal σ (chains, d) and general σ (d, d) for one OU."""
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(d, d, generator=g, dtype=torch.float64) / math.sqrt(d)
    A = torch.eye(d, dtype=torch.float64) + 0.5 * M @ M.T
    negAT = (-A.T).to(dtype=dtype, device=device).contiguous()
    sig_diag = torch.full((chains, d), 0.5, dtype=dtype, device=device)
    sig_gen = (0.5 * torch.eye(d, dtype=torch.float64) + 0.1 * torch.tril(M)).to(dtype=dtype, device=device)
    sig_gen_b = sig_gen.expand(chains, d, d)
    drift = lambda x: x @ negAT  # noqa: E731
    return drift, (lambda x: sig_diag), (lambda x: sig_gen_b)


def torchsde_time(drift, diffusion, noise_type, chains, d, steps, dt, device, dtype, repeats):
    import torchsde

    class SDE(torch.nn.Module):
        sde_type = "ito"

        def __init__(self):
            super().__init__()
            self.noise_type = noise_type

        def f(self, t, y):
            return drift(y)

        def g(self, t, y):
            return diffusion(y)

    sde = SDE()
    y0 = torch.ones(chains, d, dtype=dtype, device=device)
    ts = torch.tensor([0.0, steps * dt], dtype=dtype, device=device)
    return timeit(lambda: torchsde.sdeint(sde, y0, ts, method="euler", dt=dt), device, repeats)


def draw_times(chains, m, steps, device, dtype, repeats):
    """Time to draw steps × chains × m N(0,1) alone: (one ``torch.randn`` call, the engine's own
    chunked sampler). The first is the issue's reference; the second is stricter (the engine's
    sampler is faster than ``torch.randn`` on CPU) and isolates the loop's own overhead."""
    gen = torch.Generator(device=device).manual_seed(0)

    def one():
        torch.randn(steps, chains, m, generator=gen, dtype=dtype, device=device)

    def chunked():
        nz = _Noise("gaussian", None, (chains, m), steps, dtype, torch.device(device), gen)
        for k in range(0, steps, nz.chunk):
            nz.fill(min(nz.chunk, steps - k))

    return timeit(one, device, repeats), timeit(chunked, device, repeats)


def jax_time(chains, d, steps, dt, repeats):
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax
    import jax.numpy as jnp
    import numpy as np

    jax.config.update("jax_default_matmul_precision", "highest")  # full fp32 matmuls, like torch

    g = np.random.default_rng(0)
    M = g.standard_normal((d, d)) / math.sqrt(d)
    negAT = jnp.asarray(-(np.eye(d) + 0.5 * M @ M.T).T, dtype=jnp.float32)
    sig = jnp.full((chains, d), 0.5, dtype=jnp.float32)

    def em(key, x0):
        def body(carry, _):
            x, key = carry
            key, sub = jax.random.split(key)
            z = jax.random.normal(sub, x.shape, dtype=x.dtype)
            return (x + dt * (x @ negAT) + math.sqrt(dt) * sig * z, key), None

        (x, _), _ = jax.lax.scan(body, (x0, key), None, length=steps)
        return x

    f = jax.jit(em)
    key = jax.random.PRNGKey(0)
    x0 = jnp.ones((chains, d), dtype=jnp.float32)
    f(key, x0).block_until_ready()  # compile
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f(key, x0).block_until_ready()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), jax.devices()[0].platform


def bench_simulate(device, quick):
    rows = []
    cpu = torch.device(device).type == "cpu"
    reps = 3 if quick else 7
    dt, steps = 0.01, 1000
    sizes = [(1024, 32), (64, 4)] + ([] if cpu else [(4096, 256)])
    for chains, d in sizes:
        drift, diag, gen = ou_problem(chains, d, device)
        x0 = torch.ones(d, device=device)
        for kind, diff, nt in (("diagonal", diag, "diagonal"), ("general", gen, "general")):
            if chains == 4096 and kind == "general":
                continue
            ours = timeit(lambda: simulate(drift, diff, x0, dt, steps, chains=chains, save_every=steps),
                          device, reps)
            tsteps = 250 if (quick and chains * d >= 32768) else steps
            anchor = torchsde_time(drift, diff, nt, chains, d, tsteps, dt, device, torch.float32,
                                   1 if quick else 3) * (steps / tsteps)
            note = "float32" + (f"; torchsde timed on {tsteps} steps ×{steps // tsteps}" if tsteps != steps else "")
            rows.append(dict(name=f"simulate OU {kind} {chains}×{d}×{steps}", anchor="torchsde euler",
                             ours_s=ours, anchor_s=anchor, ratio=anchor / ours, target=10.0, note=note))
            if kind == "diagonal" and chains == 1024 and cpu:  # the CPU bottleneck only
                randn_s, own_s = draw_times(chains, d, steps, device, torch.float32, reps)
                rows.append(dict(name=f"simulate OU diagonal {chains}×{d}×{steps}",
                                 anchor="torch.randn of the increments alone", ours_s=ours, anchor_s=randn_s,
                                 ratio=randn_s / ours, target=1 / 1.3,
                                 note="ratio = draw time / engine time; target engine ≤ 1.3× draws"))
                rows.append(dict(name="  same, stricter reference (not the issue's target)",
                                 anchor="engine's own chunked sampler alone", ours_s=ours, anchor_s=own_s,
                                 ratio=own_s / ours, target=None,
                                 note="the rest of the engine's time is the drift matmul and the update"))
        if not cpu and chains == 4096:
            x0 = torch.ones(d, device=device)
            graph = timeit(lambda: simulate(drift, diag, x0, dt, steps, chains=chains, save_every=steps,
                                            cuda_graph=True), device, reps)
            rows.append(dict(name=f"simulate OU diagonal {chains}×{d}×{steps}, CUDA graph",
                             anchor="simulate eager loop", ours_s=graph, anchor_s=rows[-1]["ours_s"],
                             ratio=rows[-1]["ours_s"] / graph, target=None, note="float32"))
            rows.append(dict(name=f"simulate OU diagonal {chains}×{d}×{steps}, CUDA graph",
                             anchor="torchsde euler", ours_s=graph, anchor_s=rows[-2]["anchor_s"],
                             ratio=rows[-2]["anchor_s"] / graph, target=10.0, note="float32"))
            try:
                jt, platform = jax_time(chains, d, steps, dt, reps)
            except Exception as exc:  # JAX missing or not on this device
                print(f"JAX row skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
            else:
                for label, ours in (("eager", rows[-3]["ours_s"]), ("CUDA graph", graph)):
                    rows.append(dict(name=f"simulate OU diagonal {chains}×{d}×{steps}, {label}",
                                     anchor=f"jax.lax.scan EM ({platform})", ours_s=ours, anchor_s=jt,
                                     ratio=jt / ours, target=1 / 1.5,
                                     note="ratio = JAX / ours; target: ours within 1.5× of JAX"))
    return rows


def bench_stable(device, quick):
    from scipy import stats

    cpu = torch.device(device).type == "cpu"
    N, alpha = 1_000_000, 1.5
    gen = torch.Generator(device=device).manual_seed(0)
    ours = timeit(lambda: symmetric_stable(alpha, (N,), generator=gen, device=device), device,
                  3 if quick else 7)
    rng = __import__("numpy").random.default_rng(0)
    anchor = timeit(lambda: stats.levy_stable.rvs(alpha, 0.0, size=N, random_state=rng), "cpu",
                    1 if quick else 3)
    return [dict(name=f"symmetric α-stable CMS, 10^6 samples α={alpha}", anchor="scipy levy_stable.rvs",
                 ours_s=ours, anchor_s=anchor, ratio=anchor / ours, target=2.0 if cpu else 50.0,
                 note="float64" + ("" if cpu else "; scipy on the host CPU"))]


def _dense_step(p, theta, eta, B, dt, gen):
    """One Euler–Maruyama step of SGD's SDE with a dense Cholesky square root of Σ_emp."""
    G = p.per_sample_grads(theta)                       # (n, d)
    g = G.mean(0)
    F = (G - g) / math.sqrt(p.n)
    S = F.T @ F                                          # (d, d)
    jitter = 1e-8 * float(S.diagonal().sum()) / p.d
    L = torch.linalg.cholesky(S + jitter * torch.eye(p.d, dtype=S.dtype, device=S.device))
    z = torch.randn(p.d, dtype=S.dtype, device=S.device, generator=gen)
    return theta - dt * g + math.sqrt(dt * eta / B) * (L @ z)


def bench_sgd_sde(device, quick):
    cuda = torch.device(device).type == "cuda"
    n, d, B, eta = 500, 4000, 10, 0.01
    X, y = gaussian_regression(n, d, seed=0, dtype=torch.float64, device=device)
    p = LinearRegression(X, y)
    theta = torch.zeros(d, dtype=torch.float64, device=device)
    steps = 5
    gen = torch.Generator(device=device).manual_seed(0)

    def ours_fn():
        sgd_sde(p, theta, eta, B, steps, chains=1, save_every=steps)

    def dense_fn():
        th = theta
        for _ in range(1 if not cuda else steps):
            th = _dense_step(p, th, eta, B, eta, gen)

    mem = {}
    for name, fn in (("ours", ours_fn), ("dense", dense_fn)):
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            fn()
            torch.cuda.synchronize()
            mem[name] = torch.cuda.max_memory_allocated() - base
    ours = timeit(ours_fn, device, 2 if quick else 5) / steps
    dense = timeit(dense_fn, device, 1 if quick else 3, warmup=0 if quick else 1) / (steps if cuda else 1)
    # memory arithmetic (float64, one chain): ours holds G and the update (≈ 2nd + O(n + d) numbers);
    # dense holds G, Σ and its factor (n d + 2 d² numbers)
    b = 8
    ours_mem = mem.get("ours", 2 * n * d * b)
    dense_mem = mem.get("dense", (n * d + 2 * d * d) * b)
    how = "measured peak (CUDA)" if cuda else "arithmetic of live tensors"
    budget = 8 * 2**30
    d_ours = budget // (2 * n * b)
    d_dense = int((-n + math.sqrt(n * n + 8 * budget / b)) / 4)
    return [
        dict(name=f"sgd_sde step d={d} n={n}", anchor="Σ_emp + dense Cholesky", ours_s=ours, anchor_s=dense,
             ratio=dense / ours, target=None, note=f"float64, 1 chain, seconds per step"),
        dict(name=f"sgd_sde peak memory d={d} n={n}", anchor="Σ_emp + dense Cholesky", ours_s=None,
             anchor_s=None, ratio=dense_mem / ours_mem, target=None,
             note=f"{how}: ours {ours_mem / 2**20:.0f} MiB, dense {dense_mem / 2**20:.0f} MiB"),
        dict(name=f"sgd_sde largest d in 8 GiB (n={n})", anchor="Σ_emp + dense Cholesky", ours_s=None,
             anchor_s=None, ratio=d_ours / d_dense, target=None,
             note=f"memory arithmetic: factor d={d_ours:,}, dense d={d_dense:,}"),
    ]


def main(device: str = "cpu", quick: bool = False) -> list[dict]:
    """Run the SDE benchmarks on ``device``; return rows (see run_all.py)."""
    device = str(device)
    rows = []
    rows += bench_simulate(device, quick)
    rows += bench_stable(device, quick)
    rows += bench_sgd_sde(device, quick)
    return rows


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    got = main(a.device, a.quick)
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from run_all import table

        print(table(got))
    except Exception:  # pragma: no cover
        for r in got:
            print(r)
