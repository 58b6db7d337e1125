"""Engine checks of ``sgdsde.noise`` moved out of the §1.8 chapter (``03_gradient_noise``).

The chapter keeps the checks of the notes' claims; these tests check the engine itself against
the definitions it implements: Σ_emp and its factor against an explicit loop, the
finite-population factor against exact rationals, Σ_emp of the digits network against a direct
computation (also on a sub-problem built from a subset of the data), and the iterative top
eigenvalue against a dense eigendecomposition along an SGD run. Tolerances are in units of
rounding relative to the magnitudes compared (``sgdsde.book.assert_close``).
"""

from fractions import Fraction

import pytest
import torch

from sgdsde import noise, sgd
from sgdsde import problems as P
from sgdsde import sampling as S
from sgdsde.book import assert_close

DT = torch.float64
THETA = torch.tensor([0.8, -0.4], dtype=DT)


def _lin(n: int, seed: int = 0) -> P.LinearRegression:
    X, y = P.gaussian_regression(12, 2, noise_std=0.5, seed=seed)
    return P.LinearRegression(X[:n], y[:n])


@pytest.mark.parametrize("n", [5, 12])
@pytest.mark.parametrize("seed", [0, 271828])
def test_empirical_covariance_and_noise_factor_match_the_definition(n, seed):
    prob = _lin(n, seed)
    G = prob.per_sample_grads(THETA)
    g = G.sum(0) / prob.n
    S_loop = sum(torch.outer(gi - g, gi - g) for gi in G) / prob.n
    assert_close(noise.empirical_covariance(prob, THETA), S_loop)
    F = noise.noise_factor(prob, THETA)
    assert_close(F.T @ F, S_loop)


def test_finite_population_factor_is_the_exact_rational():
    for n in range(2, 8):
        for B in range(1, n + 1):
            exact = Fraction(n - B, n - 1)
            assert_close(noise.finite_population_factor(n, B), float(exact), ulps=4)


@pytest.fixture(scope="module")
def digits():
    torch.manual_seed(0)
    pop = P.digits_mlp(hidden=(16,), seed=0, dtype=DT)
    mlp = P.digits_mlp(hidden=(16,), n=256, seed=0, dtype=DT)
    return pop, mlp


def test_empirical_covariance_trace_on_digits_and_on_a_sub_problem(digits):
    pop, mlp = digits
    th = pop.theta0
    G = mlp.per_sample_grads(th)
    gn = G.mean(0)
    tr_direct = float(((G - gn) ** 2).sum(1).mean())
    tr_engine = float(torch.trace(noise.empirical_covariance(mlp, th)))
    assert abs(tr_engine - tr_direct) < 1e-10 * tr_direct
    # a data set of 16 i.i.d. draws from the 1797 digits, built as its own problem
    G_pop = pop.per_sample_grads(th)
    idx = S.with_replacement(pop.n, 16, 3, torch.Generator().manual_seed(2))
    gnD = pop.batch_grad(th, idx)
    trS_D = (G_pop**2).sum(1)[idx].mean(1) - (gnD**2).sum(1)
    for r in range(3):
        sub = P.TorchModel(pop.model, pop.loss_fn, pop.X[idx[r]], pop.y[idx[r]])
        tr_sub = float(torch.trace(noise.empirical_covariance(sub, th)))
        assert abs(tr_sub - float(trS_D[r])) < 1e-9 * float(trS_D[r])


def test_top_eigen_matches_dense_eigh_along_an_sgd_run(digits):
    _, mlp = digits
    run = sgd.run(mlp, mlp.theta0, 0.2, 16, 100, chains=1, seed=9, record_every=50)
    for th_k in run.theta[:, 0]:
        lam, _ = noise.top_eigen(mlp, th_k, 1)
        Gc = mlp.per_sample_grads(th_k)
        Gc = Gc - Gc.mean(0)
        lam_ref = torch.linalg.eigvalsh(Gc @ Gc.T / mlp.n)[-1]  # nonzero spectrum of FFᵀ = FᵀF
        assert_close(lam[0], lam_ref, ulps=1e6)  # iterative solver: ~1e-10 relative
