"""Tests of the experiment engines of notes §4 (``sgdsde.experiments``): fast, seeded, ≤ 20 s."""
from __future__ import annotations

import json
import math

import pytest
import torch

from sgdsde import sgd
from sgdsde.experiments import deep_linear as dl
from sgdsde.experiments import grokking as gk
from sgdsde.experiments import superposition as sp_
from sgdsde.experiments import wells
from sgdsde.levy import symmetric_stable
from sgdsde.problems import DeepLinearNetwork

torch.set_num_threads(1)


# -- wells ---------------------------------------------------------------------------------------

def test_double_well_grad_matches_autograd():
    U = wells.DoubleWell(depth=1.7, width=(0.8, 1.9))
    x = torch.linspace(-4, 5, 301, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(U.potential(x).sum(), x)
    assert torch.allclose(U.grad(x.detach()), g, atol=1e-12)
    assert U.potential(torch.tensor([0.0], dtype=torch.float64)).item() == pytest.approx(1.7)


def test_well_problem_is_a_problem_with_additive_noise():
    p = wells.well_problem(wells.DoubleWell(), 50, noise="stable", seed=3)
    th = torch.tensor([[0.3], [-0.7]], dtype=torch.float64)
    G = p.per_sample_grads(th)
    assert G.shape == (2, 50, 1)
    assert torch.allclose(G.mean(-2), p.grad(th))
    idx = torch.tensor([[0, 1, 1], [4, 5, 6]])
    assert torch.allclose(p.batch_grad(th, idx), G[torch.arange(2)[:, None], idx].mean(-2))


def test_stable_alpha_tensor_matches_levy_sampler_in_law():
    g = torch.Generator().manual_seed(0)
    a = torch.full((40_000,), 1.3, dtype=torch.float64)
    x = wells._stable_alpha_tensor(a, g)
    y = symmetric_stable(1.3, (40_000,), generator=torch.Generator().manual_seed(1))
    # compare the empirical characteristic functions at u = 0.5, 1: e^{-|u|^α}; SE ≤ 1/√N
    for u in (0.5, 1.0):
        for s in (x, y):
            assert abs(float(torch.cos(u * s).mean()) - math.exp(-u ** 1.3)) < 5 / math.sqrt(40_000)
    c = wells._stable_alpha_tensor(torch.ones(20_000, dtype=torch.float64), g)   # Cauchy
    assert abs(float((c.abs() < 1).double().mean()) - 0.5) < 5 * 0.5 / math.sqrt(20_000)


def test_escape_sgd_matches_sgd_run_in_law():
    # P(first passage to +1 within K steps): vectorised escape loop vs records of sgd.run
    U = wells.DoubleWell(depth=0.3)
    p = wells.well_problem(U, 500, noise="gaussian", scale=3.0, seed=0)
    K, N = 600, 2000
    e = wells.escape_times("sgd", lr=0.05, depth=0.3, data=p.a, batch_size=2, chains=N, max_steps=K, seed=1)
    tr = sgd.run(p, None, 0.05, 2, K, chains=N, record_loss=False, seed=2)
    f1 = float(e.escaped) / N
    f2 = float((tr.theta[..., 0] >= 1.0).any(0).double().mean())
    assert 0.1 < f2 < 0.9
    se = math.sqrt(f2 * (1 - f2) * 2 / N)
    assert abs(f1 - f2) < 5 * se


def test_escape_times_validation():
    with pytest.raises(ValueError, match="method"):
        wells.escape_times("brownian", lr=0.1, eps=1.0, chains=2, max_steps=2)
    with pytest.raises(ValueError, match="lr too large"):
        wells.escape_times("gaussian", lr=0.5, depth=1.0, eps=1.0, chains=2, max_steps=2)
    with pytest.raises(ValueError, match="alpha"):
        wells.escape_times("alpha_stable", lr=0.1, eps=1.0, chains=2, max_steps=2)


def test_gaussian_mean_exit_time_matches_nested_quadrature():
    from scipy.integrate import quad

    U = wells.DoubleWell(depth=0.7)
    eps = 0.9
    beta = 2 / eps ** 2
    u = lambda z: float(U.potential(torch.tensor(z, dtype=torch.float64)))  # noqa: E731
    inner = lambda y: quad(lambda z: math.exp(-beta * u(z)), -6.0, y, limit=200)[0]  # noqa: E731
    T = beta * quad(lambda y: math.exp(beta * u(y)) * inner(y), -1.0, 1.0, limit=200)[0]
    assert wells.gaussian_mean_exit_time(U, eps) == pytest.approx(T, rel=1e-5)


def test_fit_stable_recovers_gaussian_scale():
    x = 3.0 * torch.randn(50_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    f = wells.fit_stable(x)
    assert f.alpha > 1.9 and abs(f.scale - 3.0 / math.sqrt(2)) < 0.1   # N(0, σ²) = S_2 with scale σ/√2


# -- deep linear networks ------------------------------------------------------------------------

def test_two_layer_linear_matches_deep_linear_network():
    X, Y, U, s, V = dl.whitened_teacher(16, 3, 2, [2.0, 0.5], noise_std=0.1, seed=1)
    p = dl.TwoLayerLinear(5, X, Y, init_scale=0.4, seed=2)
    q = DeepLinearNetwork((3, 5, 2), X, Y)
    th = torch.randn(3, p.d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    idx = torch.randint(16, (3, 4), generator=torch.Generator().manual_seed(1))
    assert torch.allclose(p.per_sample_grads(th), q.per_sample_grads(th))
    assert torch.allclose(p.grad(th), q.grad(th))
    assert torch.allclose(p.batch_grad(th, idx), q.batch_grad(th, idx))
    assert torch.allclose(p.end_to_end(th), q.end_to_end(th))


def test_aligned_gd_follows_closed_form():
    X, Y, U, s, V = dl.whitened_teacher(32, 2, 2, [2.0, 1.0], seed=0)
    p = dl.TwoLayerLinear(3, X, Y, theta0=dl.aligned_init(3, U, V, 1e-3))
    eta, steps = 0.005, 1500
    tr = sgd.run(p, None, eta, None, steps, record_every=10, record_loss=False)
    a = dl.mode_strengths(p.end_to_end(tr.theta[:, 0]), U, V)
    ref = dl.saxe_mode_strength(tr.step.double().unsqueeze(-1) * eta, s, 1e-3)
    assert float((a - ref).abs().max()) < 0.05       # O(η) Euler error of a logistic with rate 2s ≤ 4


# -- superposition -------------------------------------------------------------------------------

def test_toy_grads_match_autograd_without_bias():
    g = torch.Generator().manual_seed(3)
    W = torch.randn(3, 2, 5, generator=g, dtype=torch.float64, requires_grad=True)
    x = sp_.feature_batch(32, torch.tensor([0.3, 0.6, 1.0], dtype=torch.float64), 5, generator=g)
    imp = torch.linspace(1, 0.5, 5, dtype=torch.float64)
    sp_.toy_loss(W, None, x, imp).sum().backward()
    _, dW, db = sp_.toy_grads(W.detach(), None, x, imp)
    assert db is None and torch.allclose(dW, W.grad)


def test_geometry_of_a_pentagon():
    ang = 2 * math.pi * torch.arange(5, dtype=torch.float64) / 5
    W = torch.stack([ang.cos(), ang.sin()]).unsqueeze(0)          # 5 unit features in 2 dims
    g = sp_.geometry(W)
    assert int(g["represented"]) == 5
    assert torch.allclose(g["dimensionality"], torch.full((1, 5), 0.4, dtype=torch.float64))
    assert float(g["dims_per_feature"]) == pytest.approx(0.4)


# -- grokking ------------------------------------------------------------------------------------

def test_modular_addition_split_is_the_authors():
    import random

    pairs = [(i, j, 113) for i in range(113) for j in range(113)]
    random.Random(0).shuffle(pairs)
    xtr, ytr, xte, yte = gk.modular_addition_data(113, 0.3, with_equals=True)
    assert xtr.shape == (3830, 3) and xte.shape[0] == 113 ** 2 - 3830
    assert xtr[:3].tolist() == [list(t) for t in pairs[:3]]
    assert bool(((xte[:, 0] + xte[:, 1]) % 113 == yte).all())


def test_transformer_forward_and_causality():
    m = gk.OneLayerTransformer(11, d_model=16, n_heads=2, d_mlp=32)
    x = torch.tensor([[1, 2, 11], [1, 2, 11]])
    out = m(x)
    assert out.shape == (2, 12) and torch.allclose(out[0], out[1])
    with pytest.raises(ValueError, match="divisible"):
        gk.OneLayerTransformer(11, d_model=10, n_heads=4)


def test_noise_statistics_alpha_two_for_gaussian_like_noise_and_cli(tmp_path):
    out = tmp_path / "g.json"
    rc = gk.main(["--config", "cpu", "--epochs", "20", "--log-every", "10", "--noise-every", "20",
                  "--device", "cpu", "--out", str(out)])
    assert rc == 0
    rec = json.loads(out.read_text())
    assert rec["device"] == "cpu" and rec["history"]["step"] == [0, 10, 20]
    assert len(rec["history"]["alpha_norm"]) == 2 and "summary" in rec
    with pytest.raises(ValueError, match="unknown GrokConfig"):
        gk.train("cpu", stepz=3)
