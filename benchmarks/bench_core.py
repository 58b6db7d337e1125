"""Benchmarks of the core engine against the naive way, measured side by side in one run.

Rows (see ``run_all.py`` for the row format):

1. Per-sample gradients of the MLP 64-64-10 on digits (n = 1797, d = 8970, float32):
   ``TorchModel.per_sample_grads`` on its default path vs a loop of 1797 ``backward()`` calls
   collecting each sample's gradient into a preallocated ``(n, d)`` matrix. Target ≥ 40× on CPU at
   torch's default thread count (both cores here), the setting the engine runs this size at. The
   MLP is an ``nn.Sequential`` of Linear/Tanh, so the default is the fast exact Linear backend (one
   batched forward, one backward to the pre-activations, outer products written straight into a
   fresh ``(n, d)`` output). Reference rows, same anchor: the same call into a caller's ``out=``
   buffer (what a caller that asks repeatedly should do: it skips page-faulting 64 MB in per call),
   the generic ``torch.func`` backend (``backend="func"``:
   vmap(grad) per parameter, then concatenated into the ``(n, d)`` matrix), a bare ``vmap(grad)``
   returning a dict of per-parameter grads, and the write-only floor: ``fill_`` of the 64 MB
   output alone, the time no method that returns the ``(n, d)`` matrix can beat. A last row compares
   ``batch_grad`` for 256 chains × B = 10 through the Linear backend with the ``torch.func`` backend
   (the Linear backend is kept for ``batch_grad`` only while this ratio stays above 1).
2. SGD ensemble: 256 chains of linear regression (n = 1000, d = 50, B = 10, 2000 steps, float32):
   one ``sgd.run`` vs chains run one after another with ``torch.optim.SGD`` (one backward per step).
   The sequential anchor is timed on a subset of chains (``seq_chains``) and extrapolated per
   chain-step; the ratio is chain-steps per second. Target ≥ 100×.
   Rows 1–2 run with 1 and with 2 intra-op threads on CPU.
3. Sampling N(0, Σ_emp/B) for 256 chains at one θ (d = 4000, n = 500, float64): through the factor
   F (``noise.noise_factor`` + ``noise.sample_gaussian_noise``, O(nd)) vs forming Σ_emp (d×d) and a
   dense Cholesky (O(d²n + d³)). Σ_emp has rank ≤ n − 1 < d, so the Cholesky gets a jitter
   1e-8·tr(Σ)/d·I to succeed at all.
4. The largest d each way fits in 8 GiB, from memory arithmetic (nothing that large is allocated).
"""
from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import torch
from torch import nn

from sgdsde import noise, problems, sampling, sgd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import sync as _sync, timeit  # noqa: E402  (one median timer for every benchmark)


# -- 1. per-sample gradients ----------------------------------------------------------------------
def bench_per_sample_grads(device, repeats, loop_repeats):
    p = problems.digits_mlp(dtype=torch.float32, device=device)
    theta = p.theta0
    ours = timeit(lambda: p.per_sample_grads(theta), device, repeats)
    buf = torch.empty(p.n, p.d, device=device)
    ours_out = timeit(lambda: p.per_sample_grads(theta, out=buf), device, repeats)
    pf = problems.TorchModel(p.model, p.loss_fn, p.X, p.y, backend="func")  # generic torch.func path
    func = timeit(lambda: pf.per_sample_grads(theta), device, repeats)
    th256 = theta.expand(256, p.d).contiguous()
    idx = sampling.with_replacement(p.n, 10, 256, torch.Generator(device=device).manual_seed(0))
    torch.testing.assert_close(p.batch_grad(th256, idx), pf.batch_grad(th256, idx), rtol=1e-4, atol=1e-6)
    bg_lin = timeit(lambda: p.batch_grad(th256, idx), device, repeats)
    bg_func = timeit(lambda: pf.batch_grad(th256, idx), device, repeats)

    model = copy.deepcopy(p.model)
    nn.utils.vector_to_parameters(theta.clone(), model.parameters())
    params = list(model.parameters())
    out = torch.empty(p.n, p.d, device=device)

    def loop():
        for i in range(p.n):
            for q in params:
                q.grad = None
            p.loss_fn(model(p.X[i : i + 1]).squeeze(0), p.y[i]).backward()
            torch.cat([q.grad.reshape(-1) for q in params], out=out[i])

    anchor = timeit(loop, device, loop_repeats, warmup=0)
    loop()
    torch.testing.assert_close(out, p.per_sample_grads(theta), rtol=1e-4, atol=1e-6)  # same numbers
    torch.testing.assert_close(out, pf.per_sample_grads(theta), rtol=1e-4, atol=1e-6)

    # reference point: a bare vmap(grad) returning a dict of per-parameter grads (not one (n, d) matrix)
    prm = {k: v.detach() for k, v in model.named_parameters()}
    f = lambda q, x, t: p.loss_fn(torch.func.functional_call(model, q, (x.unsqueeze(0),)).squeeze(0), t)  # noqa: E731
    bare_fn = torch.func.vmap(torch.func.grad(f), in_dims=(None, 0, 0))
    bare = timeit(lambda: bare_fn(prm, p.X, p.y), device, repeats)
    fill = timeit(lambda: buf.fill_(1.0), device, repeats)
    return dict(ours=ours, ours_out=ours_out, func=func, bare=bare, fill=fill, anchor=anchor,
                fast=p.fast_linear, bg_lin=bg_lin, bg_func=bg_func)


# -- 2. SGD ensemble ------------------------------------------------------------------------------
def bench_sgd(device, repeats, seq_chains, chains=256, steps=2000, B=10, lr=0.01):
    X, y = problems.gaussian_regression(1000, 50, seed=0, dtype=torch.float32, device=device)
    p = problems.LinearRegression(X, y)
    nt = torch.get_num_threads()  # measure at the thread count set by the caller, not "auto"
    ours = timeit(lambda: sgd.run(p, None, lr, B, steps, chains=chains, record_every=steps, record_loss=False,
                                  threads=nt), device, repeats)

    def sequential():
        gen = torch.Generator(device=device).manual_seed(0)
        for _ in range(seq_chains):
            th = torch.zeros(p.d, device=device, requires_grad=True)
            opt = torch.optim.SGD([th], lr=lr)
            for _ in range(steps):
                idx = torch.randint(p.n, (B,), generator=gen, device=device)
                loss = 0.5 * ((X[idx] @ th - y[idx]) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()

    anchor = timeit(sequential, device, 1, warmup=0)
    per_ours = ours / (chains * steps)
    per_anchor = anchor / (seq_chains * steps)
    return ours, per_anchor * chains * steps, per_anchor / per_ours


# -- 3./4. Gaussian noise through the factor vs dense Cholesky --------------------------------------
def bench_noise(device, repeats, n=500, d=4000, chains=256, B=10):
    X, y = problems.gaussian_regression(n, d, seed=0, dtype=torch.float64, device=device)
    p = problems.LinearRegression(X, y)
    th = p.theta0 + 0.01
    gen = torch.Generator(device=device).manual_seed(0)

    def ours():
        F = noise.noise_factor(p, th)
        return noise.sample_gaussian_noise(F, B, chains, generator=gen)

    def dense():
        S = noise.empirical_covariance(p, th)
        jitter = 1e-8 * S.diagonal().sum() / d
        L = torch.linalg.cholesky(S + jitter * torch.eye(d, dtype=S.dtype, device=S.device))
        z = torch.randn(chains, d, generator=gen, dtype=S.dtype, device=S.device)
        return z @ L.T / B ** 0.5

    t_ours = timeit(ours, device, repeats)
    t_dense = timeit(dense, device, max(1, repeats // 2))
    return t_ours, t_dense


def max_d_in_budget(n=500, chains=256, budget=8 * 2**30, bytes_per=8):
    """Largest d whose working set fits ``budget`` bytes (float64), by memory arithmetic.

    Factor: per-sample grads G and F (n×d each), z (chains×n), the draws (chains×d):
    bytes = 8·(2nd + chains·n + chains·d). Dense: G (n×d), Σ and its Cholesky L (d×d each), the
    draws (chains×d): bytes = 8·(nd + 2d² + chains·d).
    """
    elems = budget // bytes_per
    d_factor = (elems - chains * n) // (2 * n + chains)
    a, b = 2, n + chains  # 2d² + b d − elems ≤ 0
    d_dense = int((-b + (b * b + 4 * a * elems) ** 0.5) / (2 * a))
    return d_factor, d_dense


def main(device: str = "cpu", quick: bool = False) -> list[dict]:
    """Run the core benchmarks on ``device``; return rows (see run_all.py)."""
    device = str(device)
    cpu = torch.device(device).type == "cpu"
    reps = 2 if quick else 5
    rows = []
    old = torch.get_num_threads()
    for threads in ((1, 2) if cpu else (None,)):
        tag = f" [{threads} thread{'s' if threads != 1 else ''}]" if threads else ""
        if threads:
            torch.set_num_threads(threads)
        try:
            r = bench_per_sample_grads(device, reps, 1 if quick else 3)
            anchor = r["anchor"]
            path = "fast Linear path" if r["fast"] else "torch.func path"
            default = threads in (None, old)  # the engine's setting: torch's default thread count
            rows.append(dict(name="per-sample grads, MLP 64-64-10 digits n=1797" + tag,
                             anchor="loop of backward()", ours_s=r["ours"], anchor_s=anchor,
                             ratio=anchor / r["ours"], target=40.0 if cpu and default else None,
                             note=f"float32, d=8970, default call ({path})"
                                  + ("" if default else "; reference: not the default thread count")))
            for key, label, note in (
                ("ours_out", "same, into the caller's out= buffer", "per_sample_grads(θ, out=buf)"),
                ("func", "same, torch.func backend, backend='func'",
                 "vmap(grad) per parameter + concatenation into (n, d)"),
                ("bare", "same, bare vmap(grad), not the engine", "dict of per-parameter grads, no (n, d) matrix"),
                ("fill", "write-only floor: fill_ the (n, d) output", "64 MB of stores, no arithmetic"),
            ):
                rows.append(dict(name=f"  {label} (reference)" + tag, anchor="loop of backward()",
                                 ours_s=r[key], anchor_s=anchor, ratio=anchor / r[key], target=None, note=note))
            rows.append(dict(name="batch_grad, digits MLP, 256 chains x B=10" + tag,
                             anchor="torch.func backend", ours_s=r["bg_lin"], anchor_s=r["bg_func"],
                             ratio=r["bg_func"] / r["bg_lin"], target=None,
                             note="Linear backend (the default) vs backend='func'"))
            seq = 1 if quick else 8
            ours, anchor, ratio = bench_sgd(device, reps, seq)
            rows.append(dict(name="SGD ensemble, 256 chains LR d=50 B=10 2000 steps" + tag,
                             anchor="sequential torch.optim.SGD", ours_s=ours, anchor_s=anchor, ratio=ratio,
                             target=100.0,
                             note=f"chain-steps/s; anchor timed on {seq} chain(s), extrapolated to 256"))
            ours, dense = bench_noise(device, 1 if quick else 3)
            rows.append(dict(name="N(0, Σ_emp/B) x256, d=4000 n=500" + tag, anchor="Σ_emp + dense Cholesky",
                             ours_s=ours, anchor_s=dense, ratio=dense / ours, target=None, note="float64"))
        finally:
            torch.set_num_threads(old)
    d_f, d_d = max_d_in_budget()
    rows.append(dict(name="largest d in 8 GiB (n=500, 256 draws)", anchor="Σ_emp + dense Cholesky",
                     ours_s=None, anchor_s=None, ratio=d_f / d_d, target=None,
                     note=f"memory arithmetic: factor d={d_f:,}, dense d={d_d:,}"))
    return rows


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    for r in main(a.device, a.quick):
        print(r)
