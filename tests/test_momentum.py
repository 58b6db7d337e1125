"""Tests of heavy ball's continuous-time model and the FDR engines: the underdamped stepper
(orders measured), the exact heavy-ball and underdamped stationary moments of least squares
(closed forms, μ = 0, Monte Carlo), and the FDR estimator (sgdsde.fdr).

Monte Carlo checks use 5 SE (false-failure odds 5.7e-7 each, `sgdsde.stats.false_failure_prob`).
A declared order p passes when the fitted slope is within 0.2 of p (strong: ≥ p − 0.2).
"""
import math

import numpy as np
import pytest
import torch

from sgdsde import fdr, sgd
from sgdsde import linear_theory as lt
from sgdsde.dynamics import SGD, Underdamped, integrate
from sgdsde.problems import LinearRegression, gaussian_regression
from sgdsde.stats import assert_within_se, mean_se

f64 = torch.float64


def _slope(hs, errs):
    return float(np.polyfit(np.log(hs), np.log(np.abs(errs)), 1)[0])


# -- the underdamped stepper: measured orders on kinetic Langevin with a known answer ------------
def _exact_second_moment(lam, gam, s, x0, T):
    """E[x_T x_Tᵀ] of dθ = V dt, dV = −(γV + λθ) dt + s dW from the point x0 (matrix exponential)."""
    F = torch.tensor([[0.0, 1.0], [-lam, -gam]], dtype=f64)
    Q = torch.tensor([[0.0, 0.0], [0.0, s**2]], dtype=f64)
    # d/dt vec P = (F⊕F) vec P + vec Q, solved on the augmented system
    G = torch.zeros(5, 5, dtype=f64)
    G[:4, :4] = torch.kron(F, torch.eye(2, dtype=f64)) + torch.kron(torch.eye(2, dtype=f64), F)
    G[:4, 4] = Q.reshape(-1)
    z0 = torch.cat([torch.outer(x0, x0).reshape(-1), torch.ones(1, dtype=f64)])
    return (torch.linalg.matrix_exp(T * G) @ z0)[:4].reshape(2, 2)


def test_underdamped_orders_against_exact_moments():
    lam, gam, s, T, N, K = 1.0, 1.0, 0.8, 1.0, 20_000, 9
    x0 = torch.tensor([1.0, 0.0], dtype=f64)
    force = lambda th: -lam * th  # noqa: E731
    make = lambda dt, z: Underdamped(force, gam, torch.tensor(s, dtype=f64), dt, increments=z)  # noqa: E731
    assert (make(0.1, None).weak_order, make(0.1, None).strong_order) == (1.0, 1.0)
    zf = torch.randn(2**K, N, 1, dtype=f64, generator=torch.Generator().manual_seed(0))
    ref = integrate(make(T / 2**K, zf), x0, 2**K, chains=N, save_every=2**K).final
    exact = _exact_second_moment(lam, gam, s, x0, T)[0, 0]
    hs, strong, weak, se = [], [], [], []
    for k in range(3, 7):
        r = 2 ** (K - k)
        z = zf.reshape(2**k, r, N, 1).sum(1) / math.sqrt(r)
        xh = integrate(make(T / 2**k, z), x0, 2**k, chains=N, save_every=2**k).final
        hs.append(T / 2**k)
        strong.append(float((xh - ref).abs().sum(-1).mean()))
        # weak error of E θ_T² against the fine level on one path (variance reduced by coupling)
        dlt = xh[:, 0] ** 2 - ref[:, 0] ** 2
        weak.append(float(dlt.mean()))
        se.append(float(dlt.std()) / math.sqrt(N))
    # the fine reference reproduces the exact second moment within 5 SE plus its own O(h) bias,
    # extrapolated from the measured coarse errors (weak[-1] at h = T/64 is 8 h_ref's error)
    m, s_ = mean_se(ref[:, 0] ** 2)
    assert abs(float(m - exact)) < 5 * float(s_) + abs(weak[-1]) / 4
    assert _slope(hs, strong) >= 1.0 - 0.2, strong
    assert np.all(np.abs(weak) > 5 * np.array(se)), (weak, se)
    assert abs(_slope(hs, weak) - 1.0) < 0.2, weak


def test_underdamped_step_is_heavy_ball():
    # no noise: h = √η, γ = (1 − μ)/√η, F = −∇L reproduces heavy-ball GD with V = −√η v
    p = LinearRegression(*gaussian_regression(30, 2, seed=1))
    eta, mu = 0.05, 0.8
    h, gam = lt.underdamped_parameters(eta, mu)
    th0 = torch.tensor([2.0, -1.0], dtype=f64)
    hb = integrate(SGD(p, eta, None, momentum=mu), th0, 50).x[:, 0]
    ud = integrate(Underdamped(lambda th: -p.grad(th), gam, torch.tensor(0.0, dtype=f64), h),
                   torch.cat([th0, torch.zeros(2, dtype=f64)]), 50).x[:, 0, :2]
    assert torch.allclose(hb, ud, rtol=1e-12, atol=1e-12 * float(th0.abs().max()))


def test_underdamped_bad_input():
    with pytest.raises(ValueError, match="friction"):
        Underdamped(lambda th: th, -1.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="dt"):
        Underdamped(lambda th: th, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="2d"):
        integrate(Underdamped(lambda th: th, 1.0, 1.0, 0.1), torch.zeros(3, dtype=f64), 2)


# -- exact stationary moments of heavy ball ----------------------------------------------------
@pytest.fixture(scope="module")
def additive():
    # x_i = ±1: x_i² = 1, so K = H⊗H and the noise is additive (Σ_emp(θ) = Σ̂ for every θ)
    g = torch.Generator().manual_seed(3)
    X = torch.rand(40, 1, generator=g, dtype=f64).lt(0.5).to(f64) * 2 - 1
    return lt.moment_operators(LinearRegression(X, torch.randn(40, generator=g, dtype=f64)))


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.99])
def test_heavy_ball_closed_form_1d(additive, mu):
    o, eta, B = additive, 0.3, 4
    lam, s2 = float(o.H), float(o.Sigma) / B
    P = lt.stationary_moment_heavy_ball(o, eta, mu, B)
    var = eta * s2 * (1 + mu) / (lam * (1 - mu) * (2 * (1 + mu) - eta * lam))
    assert math.isclose(float(P[0, 0]), var, rel_tol=1e-9)
    U = lt.stationary_moment_underdamped(o, eta, mu, B)
    assert math.isclose(float(U[0, 0]), eta / (1 - mu) * s2 / (2 * lam), rel_tol=1e-9)
    # FDR, exactly: ⟨δ·Hδ⟩ = (η/2)(1 + μ)⟨v²⟩
    assert math.isclose(lam * float(P[0, 0]), eta / 2 * (1 + mu) * float(P[1, 1]), rel_tol=1e-9)


def test_heavy_ball_mean_square_edge(additive):
    o = additive
    lam = float(o.H)
    for mu in (0.0, 0.9):
        edge = lt.heavy_ball_stability_edge(o, mu, 4)
        assert math.isclose(edge * lam, 2 + 2 * mu, rel_tol=1e-8)  # additive: the mean's edge
        lt.stationary_moment_heavy_ball(o, 0.99 * edge, mu, 4)
        with pytest.raises(ValueError, match="stability edge"):
            lt.stationary_moment_heavy_ball(o, 1.01 * edge, mu, 4)
    with pytest.raises(ValueError, match="momentum"):
        lt.stationary_moment_heavy_ball(o, 0.1, 1.0, 4)


def test_heavy_ball_monte_carlo():
    p = LinearRegression(*gaussian_regression(48, 2, seed=2))
    o = lt.moment_operators(p)
    eta, mu, B, ch, burn, keep = 0.05, 0.9, 4, 400, 300, 600
    P = lt.stationary_moment_heavy_ball(o, eta, mu, B)
    tr = sgd.run(p, o.theta, eta, B, burn + keep, momentum=mu, chains=ch, seed=5,
                 record_loss=False, threads=1)
    th = tr.theta[burn:] - o.theta
    v = (th[:-1] - th[1:]) / eta
    x = torch.cat([th[:-1], v], -1)                       # (keep, chains, 4): (δ_k, v_{k+1})
    # compare with E[(δ_k, v_k)(δ_k, v_k)ᵀ] except the δ–v cross block (v_{k+1} ≠ v_k)
    acc = torch.einsum("tci,tcj->cij", x, x) / keep
    m, se = mean_se(acc)
    mask = torch.zeros(4, 4, dtype=torch.bool)
    mask[:2, :2] = mask[2:, 2:] = True
    assert_within_se(m[mask], P[mask], se[mask], what="heavy-ball stationary moments")


# -- the FDR estimator ---------------------------------------------------------------------------
def test_fdr_terms_least_squares_and_bad_input():
    p = LinearRegression(*gaussian_regression(40, 2, seed=4))
    for mu in (0.0, 0.8):
        tr = sgd.run(p, p.minimizer(), 0.05, 4, 800, momentum=mu, chains=200, seed=6,
                     record_loss=False, threads=1)
        t = fdr.fdr_terms(p, tr.theta[200:], 0.05, mu, center=p.minimizer())
        m, se = t.residual()
        assert abs(float(m)) < 5 * float(se)
        r, rse = t.ratio()
        assert abs(r - 1) < 5 * rse and rse < 0.1
    with pytest.raises(ValueError, match="theta"):
        fdr.fdr_terms(p, tr.theta[0], 0.05)
    with pytest.raises(ValueError, match="momentum"):
        fdr.fdr_terms(p, tr.theta, 0.05, 1.5)
    with pytest.raises(ValueError, match="lr"):
        fdr.fdr_terms(p, tr.theta, -1.0)


def test_fdr_exact_plain_sgd_and_sde_defect():
    # plain SGD's exact stationary M satisfies tr(HM) = (η/2) E|g_B|² (multiplicative noise);
    # the SDE (23)'s misses it by exactly −(η/2) tr(H²M)
    o = lt.moment_operators(LinearRegression(*gaussian_regression(50, 3, seed=7)))
    for eta in (0.01, 0.1, 0.3):
        M = lt.stationary_moment_sgd(o, eta, 5)
        lhs = float((o.H * M).sum())
        assert math.isclose(lhs, eta / 2 * lt.mean_sq_batch_grad(o, M, 5), rel_tol=1e-9)
        Ms = lt.stationary_moment_sde(o, eta, 5)
        D = float((o.H * Ms).sum()) - eta / 2 * lt.mean_sq_batch_grad(o, Ms, 5)
        assert math.isclose(D, -eta / 2 * float((o.H @ o.H * Ms).sum()), rel_tol=1e-8)
    C = lt.eigenbasis_correlation(o.H, M)
    assert torch.allclose(C.diagonal(), torch.ones(3, dtype=f64))
