"""Tests of sgdsde.noise against brute-force enumeration, exact rationals and seeded Monte Carlo.

Monte Carlo checks use 5 standard errors (false-failure odds ≈ 5.7e-7 per entry).
"""
import itertools
from fractions import Fraction

import pytest
import torch
from torch import nn

from sgdsde import noise as N
from sgdsde import problems as P
from sgdsde.stats import assert_within_se, cov_se, mean_se

f64 = torch.float64
SCHEMES = ("with_replacement", "without_replacement", "reshuffle")


def lin_problem(n=6, d=3, seed=0):
    return P.LinearRegression(*P.gaussian_regression(n, d, seed=seed))


def enumerate_batches(n, B, scheme):
    """Every equally likely batch of one draw, as index tuples."""
    if scheme == "with_replacement":
        return list(itertools.product(range(n), repeat=B))
    if scheme == "without_replacement":
        return list(itertools.combinations(range(n), B))
    # reshuffle: the first batch of each of the n! equally likely permutations
    return [perm[:B] for perm in itertools.permutations(range(n))]


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("n,B", [(5, 1), (5, 2), (5, 3), (6, 4), (4, 4)])
def test_minibatch_covariance_equals_enumeration(scheme, n, B):
    p = lin_problem(n=n)
    th = torch.randn(3, generator=torch.Generator().manual_seed(n * 10 + B), dtype=f64)
    G = p.per_sample_grads(th)
    gB = torch.stack([G[list(b)].mean(0) for b in enumerate_batches(n, B, scheme)])
    c = gB - gB.mean(0)
    brute = c.T @ c / gB.shape[0]
    torch.testing.assert_close(gB.mean(0), p.grad(th), rtol=1e-12, atol=1e-14)  # unbiased
    torch.testing.assert_close(N.minibatch_covariance(p, th, B, scheme), brute, rtol=1e-12, atol=1e-14)


def test_empirical_covariance_exact_rationals():
    """Integer data and θ: Σ_emp is rational; float64 agrees with Fraction arithmetic to 1e-12."""
    X = torch.tensor([[1, 2], [0, -1], [3, 1], [2, 2], [-1, 0]], dtype=f64)
    y = torch.tensor([1, 0, 2, -1, 3], dtype=f64)
    th = torch.tensor([1, -2], dtype=f64)
    p = P.LinearRegression(X, y)
    rows = [[int(v) for v in r] for r in X]
    g = [[Fraction((sum(a * b for a, b in zip(x, [1, -2])) - int(yy)) * xi) for xi in x]
         for x, yy in zip(rows, y.tolist())]
    n = len(g)
    m = [sum(gi[j] for gi in g) / n for j in range(2)]
    S = [[sum((gi[a] - m[a]) * (gi[b] - m[b]) for gi in g) / n for b in range(2)] for a in range(2)]
    got = N.empirical_covariance(p, th)
    for a in range(2):
        for b in range(2):
            assert abs(float(got[a, b]) - float(S[a][b])) <= 1e-12 * max(1.0, abs(float(S[a][b])))
    B = 2
    fp = Fraction(n - B, n - 1)
    got = N.minibatch_covariance(p, th, B, "without_replacement")
    assert abs(float(got[0, 1]) - float(fp * S[0][1] / B)) <= 1e-12 * abs(float(S[0][1]))
    assert N.finite_population_factor(n, B) == float(fp)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_monte_carlo_mean_and_covariance_within_5_se(scheme):
    p = lin_problem(n=12, d=3, seed=2)
    th = torch.randn(3, generator=torch.Generator().manual_seed(0), dtype=f64)
    g = N.sample_batch_grads(p, th, 4, 20_000, sampling=scheme, seed=11)
    m, se = mean_se(g)
    assert_within_se(m, p.grad(th), se, what=f"{scheme}: mean of g_B")
    C, cse = cov_se(g)
    assert_within_se(C, N.minibatch_covariance(p, th, 4, scheme), cse, what=f"{scheme}: Cov g_B")


def test_estimate_covariance_is_the_notes_estimator():
    p = lin_problem(n=12, d=3, seed=2)
    th = p.theta0
    B, m = 4, 5000
    g = N.sample_batch_grads(p, th, B, m, seed=3)
    est = N.estimate_covariance(p, th, B, m, seed=3)
    gbar = g.mean(0)
    ref = B / (m - 1) * sum(torch.outer(gj - gbar, gj - gbar) for gj in g)
    torch.testing.assert_close(est, ref, rtol=1e-10, atol=1e-12)
    _, cse = cov_se(g)
    for scheme, fac in (("with_replacement", 1.0), ("without_replacement", (12 - B) / 11)):
        est = N.estimate_covariance(p, th, B, m, sampling=scheme, seed=5)
        assert_within_se(est, fac * N.empirical_covariance(p, th), B * cse, what=f"E Σ̂ ({scheme})")


def test_batched_theta():
    p = lin_problem(n=8, d=3)
    th = torch.randn(2, 3, generator=torch.Generator().manual_seed(0), dtype=f64)
    S = N.empirical_covariance(p, th)
    assert S.shape == (2, 3, 3)
    torch.testing.assert_close(S[1], N.empirical_covariance(p, th[1]))
    assert N.sample_batch_grads(p, th, 2, 5).shape == (2, 5, 3)
    assert N.estimate_covariance(p, th, 2, 5).shape == (2, 3, 3)
    assert N.noise_factor(p, th).shape == (2, 8, 3)


@pytest.mark.parametrize("n,d", [(8, 30), (40, 5), (10, 10)])
def test_noise_factor_and_top_eigen_match_dense(n, d):
    p = lin_problem(n=n, d=d, seed=n + d)
    th = torch.randn(d, generator=torch.Generator().manual_seed(1), dtype=f64)
    S = N.empirical_covariance(p, th)
    F = N.noise_factor(p, th)
    torch.testing.assert_close(F.T @ F, S, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(F.sum(0), torch.zeros(d, dtype=f64), rtol=0, atol=1e-12)
    ev, EV = torch.linalg.eigh(S)
    ev = ev.flip(0)
    for k in (1, 3, min(n, d), d):  # k > rank (≤ n − 1) exercises the null-space completion
        lam, V = N.top_eigen(p, th, k)
        assert lam.shape == (k,) and V.shape == (d, k)
        torch.testing.assert_close(lam, ev[:k].clamp_min(0), rtol=1e-9, atol=1e-11)
        torch.testing.assert_close(V.T @ V, torch.eye(k, dtype=f64), rtol=0, atol=1e-10)
        torch.testing.assert_close(S @ V, V * lam, rtol=0, atol=1e-9)
        assert bool((lam[:-1] >= lam[1:]).all())


def test_top_eigen_lowrank_and_digits():
    p = lin_problem(n=10, d=60, seed=3)  # rank ≤ 9 ≤ q: the randomised SVD is exact to rounding
    lam, V = N.top_eigen(p, p.theta0 + 0.3, 4, method="lowrank")
    lam_e, _ = N.top_eigen(p, p.theta0 + 0.3, 4, method="exact")
    torch.testing.assert_close(lam, lam_e, rtol=1e-8, atol=1e-12)
    q = P.digits_mlp(n=30, dtype=f64)
    lam, V = N.top_eigen(q, q.theta0, 3)
    F = N.noise_factor(q, q.theta0)
    torch.testing.assert_close(F.T @ (F @ V), V * lam, rtol=0, atol=1e-10)  # Σ_emp V = V Λ, no d×d
    with pytest.raises(ValueError, match=r"k must be an int in \[1, d\]"):
        N.top_eigen(p, p.theta0, 0)


def test_top_eigen_lowrank_draws_from_its_generator_only():
    # A rank-40 factor with q = k + 10 = 15 columns: the randomised SVD is approximate, so its
    # result depends on the test matrix, i.e. on the generator, and on nothing else.
    p = lin_problem(n=41, d=60, seed=5)
    th = p.theta0 + 0.3
    g = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
    torch.manual_seed(123)
    state = torch.get_rng_state()
    lam1, V1 = N.top_eigen(p, th, 5, method="lowrank", generator=g(7))
    assert torch.equal(torch.get_rng_state(), state), "top_eigen touched the global RNG"
    torch.manual_seed(999)  # the global RNG does not matter
    lam2, V2 = N.top_eigen(p, th, 5, method="lowrank", generator=g(7))
    assert torch.equal(lam1, lam2) and torch.equal(V1, V2)
    lam3, _ = N.top_eigen(p, th, 5, method="lowrank", generator=g(8))
    assert not torch.equal(lam1, lam3), "another generator gave the same approximation"
    lam_e, _ = N.top_eigen(p, th, 5, method="exact")
    # 4 power iterations: the top eigenvalues agree with the exact ones to a few percent
    torch.testing.assert_close(lam1, lam_e, rtol=0.05, atol=0)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        N.top_eigen(p, th, 5, method="lowrank", generator=7)


def test_sample_gaussian_noise_covariance_within_5_se():
    p = lin_problem(n=9, d=3, seed=4)
    F = N.noise_factor(p, p.theta0)
    for scheme in ("with_replacement", "without_replacement"):
        z = N.sample_gaussian_noise(F, 3, 40_000, sampling=scheme, generator=torch.Generator().manual_seed(0))
        C, cse = cov_se(z)
        assert_within_se(C, N.minibatch_covariance(p, p.theta0, 3, scheme), cse, what=f"N(0, Σ/B) {scheme}")


def test_torchmodel_noise_matches_linear_regression():
    X, y = P.gaussian_regression(7, 3, seed=1)
    lr = P.LinearRegression(X, y)
    tm = P.TorchModel(nn.Linear(3, 1, bias=False), lambda o, t: 0.5 * (o.squeeze(-1) - t) ** 2, X, y)
    th = torch.randn(3, generator=torch.Generator().manual_seed(0), dtype=f64)
    torch.testing.assert_close(N.empirical_covariance(lr, th), N.empirical_covariance(tm, th), rtol=1e-12, atol=1e-13)


def test_bad_inputs():
    p = lin_problem(n=5)
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, n\] = \[1, 5\]"):
        N.minibatch_covariance(p, p.theta0, 6, "without_replacement")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        N.minibatch_covariance(p, p.theta0, 0)
    with pytest.raises(ValueError, match="sampling must be one of"):
        N.minibatch_covariance(p, p.theta0, 2, "poisson")
    with pytest.raises(ValueError, match="m .* must be an int >= 2"):
        N.estimate_covariance(p, p.theta0, 2, 1)
    with pytest.raises(ValueError, match="batch_size in"):
        N.finite_population_factor(5, 6)
    with pytest.raises(TypeError, match="problem must be"):
        N.empirical_covariance("p", p.theta0)
    assert N.minibatch_covariance(p, p.theta0, 6).shape == (3, 3)  # with replacement any B ≥ 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    p = lin_problem(n=12, d=30, seed=1)
    q = P.LinearRegression(p.X.cuda(), p.y.cuda())
    th = torch.randn(30, generator=torch.Generator().manual_seed(0), dtype=f64)
    torch.testing.assert_close(N.empirical_covariance(q, th.cuda()).cpu(), N.empirical_covariance(p, th))
    lam_c, _ = N.top_eigen(q, th.cuda(), 5)
    lam, _ = N.top_eigen(p, th, 5)
    torch.testing.assert_close(lam_c.cpu(), lam, rtol=1e-10, atol=1e-12)
    g = N.sample_batch_grads(q, th.cuda(), 4, 20_000, sampling="without_replacement", seed=2)
    C, cse = cov_se(g[:, :3])
    assert_within_se(C.cpu(), N.minibatch_covariance(p, th, 4, "without_replacement")[:3, :3], cse.cpu(),
                     what="CUDA Cov g_B")
    m = P.digits_mlp(n=64, dtype=f64, device="cuda")
    mc = P.digits_mlp(n=64, dtype=f64)
    torch.testing.assert_close(m.per_sample_grads(m.theta0).cpu(), mc.per_sample_grads(mc.theta0), rtol=1e-10, atol=1e-12)
    idx = torch.randint(64, (3, 8))
    torch.testing.assert_close(m.batch_grad(m.theta0.expand(3, -1), idx.cuda()).cpu(),
                               mc.batch_grad(mc.theta0.expand(3, -1), idx), rtol=1e-10, atol=1e-12)
