"""Tests for sgdsde.fokker_planck against closed forms (OU Gaussians, a state-dependent 1-D case)."""
import math

import numpy as np
import pytest
import torch

from sgdsde.fokker_planck import MIN_POINTS, solve_stationary_2d, stationary_density_1d
from sgdsde.sde import OrnsteinUhlenbeck

f64 = torch.float64


# -- 1-D ---------------------------------------------------------------------------------------
def test_1d_ou_matches_gaussian():
    theta, D = 1.7, 0.6                         # dx = -theta x dt + sqrt(2D) dW: N(0, D/theta)
    x = torch.linspace(-4, 4, 4001, dtype=f64)
    p = stationary_density_1d(lambda x: -theta * x, lambda x: 2 * D * torch.ones_like(x), x)
    var = D / theta
    exact = torch.exp(-x**2 / (2 * var)) / math.sqrt(2 * math.pi * var)
    assert float((p - exact).abs().max()) < 1e-6


def test_1d_state_dependent_closed_form_and_second_order():
    # b = -x, a = 1 + x^2:  p = (1/a) exp(∫ -2x/(1+x^2)) = (1+x^2)^-2 / (pi/2)
    errs = []
    for N in (801, 1601):
        x = torch.linspace(-30, 30, N, dtype=f64)
        p = stationary_density_1d(lambda x: -x, lambda x: 1 + x**2, x)
        exact = 2 / math.pi / (1 + x**2) ** 2
        errs.append(float((p - exact).abs().max()))
    assert errs[1] < 2e-4
    order = math.log2(errs[0] / errs[1])
    assert 1.7 < order < 2.3, order


def test_1d_zero_current_and_not_the_notes_prefactor():
    # J = b p - (1/2)(a p)' vanishes; a |a|^(-1/2) prefactor (notes (29)-style) does not solve it
    x = torch.linspace(-30, 30, 6001, dtype=f64)
    b, a = -x, 1 + x**2
    p = stationary_density_1d(b, a, x)                       # tensors of values also accepted
    h = float(x[1] - x[0])
    ap = a * p
    J = b[1:-1] * p[1:-1] - 0.5 * (ap[2:] - ap[:-2]) / (2 * h)
    assert float(J.abs().max()) < 1e-4          # the O(h^2) error of this finite difference
    q = a ** -0.5 * torch.exp(torch.cat([torch.zeros(1, dtype=f64),
                                         torch.cumulative_trapezoid(2 * b / a, x, dim=0)]))
    q = q / torch.trapezoid(q, x)
    aq = a * q
    Jq = b[1:-1] * q[1:-1] - 0.5 * (aq[2:] - aq[:-2]) / (2 * h)
    assert float(Jq.abs().max()) > 1e-2         # > 100 times larger


def test_1d_monte_carlo_matches_state_dependent_density():
    # independent check by simulation: P(|x| <= 1) = ∫_{-1}^{1} (2/pi)(1+x^2)^-2 = 1/2 + 1/pi
    from sgdsde.sde import simulate
    path = simulate(lambda x: -x, lambda x: torch.sqrt(1 + x**2), torch.zeros(1, dtype=f64), dt=0.01,
                    steps=600, chains=20_000, seed=3, save_every=600)
    inside = (path.x[-1, :, 0].abs() <= 1).double()
    target = 0.5 + 1 / math.pi
    se = math.sqrt(target * (1 - target) / inside.numel())
    # EM bias at dt = 0.01 is O(dt) ≈ 2e-3, below 5 SE ≈ 1.4e-2; t = 6 ≫ relaxation time 1
    assert abs(float(inside.mean()) - target) <= 5 * se


def test_1d_bad_input():
    x = torch.linspace(-1, 1, 11, dtype=f64)
    with pytest.raises(ValueError, match="diffusion_sq must be > 0"):
        stationary_density_1d(lambda x: -x, lambda x: x, x)
    with pytest.raises(ValueError, match="strictly increasing"):
        stationary_density_1d(lambda x: -x, lambda x: 1 + 0 * x, x.flip(0))
    with pytest.raises(ValueError, match="at least 3"):
        stationary_density_1d(lambda x: -x, lambda x: 1 + 0 * x, x[:2])
    with pytest.raises(ValueError, match="shape"):
        stationary_density_1d(lambda x: -x, lambda x: torch.ones(3, dtype=f64), x)
    with pytest.raises(ValueError, match="not finite"):
        stationary_density_1d(lambda x: -x / 0 * x, lambda x: 1 + 0 * x, x)


# -- 2-D ---------------------------------------------------------------------------------------
def ou_solve(A, D, n, width=6.0):
    ou = OrnsteinUhlenbeck(A, D)
    S = ou.stationary_cov()
    gx = torch.linspace(-width * float(S[0, 0].sqrt()), width * float(S[0, 0].sqrt()), n, dtype=f64)
    gy = torch.linspace(-width * float(S[1, 1].sqrt()), width * float(S[1, 1].sqrt()), n, dtype=f64)
    r = solve_stationary_2d(lambda X, Y: torch.stack([X, Y], -1) @ (-A.T), lambda X, Y: 2 * D, gx, gy)
    Y, X = torch.meshgrid(gy, gx, indexing="ij")
    pts = torch.stack([X, Y], -1)
    return ou, r, ou.stationary_density(pts), ou.stationary_current(pts)


A_NC = torch.tensor([[1.0, 0.0], [0.0, 3.0]], dtype=f64)        # with D_NC: A S != D
D_NC = torch.tensor([[1.0, 0.5], [0.5, 1.0]], dtype=f64)


def test_2d_ou_gaussian_and_current_second_order():
    perr, jerr = [], []
    for n in (41, 81):
        ou, r, pe, je = ou_solve(A_NC, D_NC, n)
        assert r.residual < 1e-10
        assert math.isclose(float(r.p.sum()) * r.hx * r.hy, 1.0, rel_tol=1e-12)
        perr.append(float((r.p - pe).abs().max() / pe.max()))
        jerr.append(float((r.j - je).abs().max() / je.abs().max()))
    assert perr[1] < 1e-2 and jerr[1] < 5e-2
    assert 1.7 < math.log2(perr[0] / perr[1]) < 2.3
    assert 1.7 < math.log2(jerr[0] / jerr[1]) < 2.3


def test_2d_nonzero_current_when_A_and_D_do_not_commute():
    ou, r, pe, je = ou_solve(A_NC, D_NC, 61)
    assert not ou.detailed_balance()
    jmax = float(r.j.norm(dim=-1).max())
    # |j| is O(1e-1) here, i.e. > 1e3 times the discretisation error of the commuting case below
    assert jmax > 0.05 and float(je.norm(dim=-1).max()) > 0.05
    # it circulates: the current is divergence-free and has a non-zero curl-like circulation
    jy = r.j[..., 1]
    circ = float((r.x * jy.sum(0) - 0).sum())  # Σ x j_y ≠ 0 for a rotating flow
    assert abs(circ) > 1e-3


@pytest.mark.parametrize("A", [torch.tensor([[1.0, 0.0], [0.0, 3.0]], dtype=f64),
                               torch.tensor([[2.0, 0.7], [0.7, 1.0]], dtype=f64)])
def test_2d_zero_current_when_commuting(A):
    D = torch.eye(2, dtype=f64)                 # A symmetric, D = I: A S = D, detailed balance
    errs = []
    for n in (81, 161):                         # (41 points violate the Péclet bound for A1)
        ou, r, pe, je = ou_solve(A, D, n)
        assert ou.detailed_balance()
        assert float(je.abs().max()) < 1e-15
        errs.append(float(r.j.norm(dim=-1).max() / (r.p.max() * A.abs().max())))
    # zero up to discretisation error, which shrinks like h^2 (exactly 0 for diagonal A)
    assert errs[1] < 2e-3
    assert errs[1] < 1e-12 or errs[0] / errs[1] > 3.0


def test_2d_bad_input():
    g = torch.linspace(-5, 5, 61, dtype=f64)
    drift = lambda X, Y: torch.stack([-X, -Y], -1)  # noqa: E731
    a = lambda X, Y: 2 * torch.eye(2, dtype=f64)     # noqa: E731
    with pytest.raises(ValueError, match="too coarse: need at least 16"):
        solve_stationary_2d(drift, a, g[: MIN_POINTS - 1], g)
    with pytest.raises(ValueError, match="Péclet"):
        solve_stationary_2d(lambda X, Y: torch.stack([-40 * X, -Y], -1), a, g, g)
    with pytest.raises(ValueError, match="uniform"):
        solve_stationary_2d(drift, a, torch.cat([g[:30], g[30:] ** 3 / 25]), g)
    with pytest.raises(ValueError, match="positive definite"):
        solve_stationary_2d(drift, lambda X, Y: torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=f64), g, g)
    with pytest.raises(ValueError, match="symmetric"):
        solve_stationary_2d(drift, lambda X, Y: torch.tensor([[1.0, 0.2], [0.0, 1.0]], dtype=f64), g, g)
    with pytest.raises(ValueError, match="drift"):
        solve_stationary_2d(lambda X, Y: -X, a, g, g)
    with pytest.raises(ValueError, match="diffusion"):
        solve_stationary_2d(drift, lambda X, Y: torch.ones(3, dtype=f64), g, g)
    # numpy grids are accepted
    r = solve_stationary_2d(drift, a, np.linspace(-5, 5, 31), np.linspace(-5, 5, 31))
    assert r.p.shape == (31, 31)
