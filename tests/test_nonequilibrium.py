"""Tests for sgdsde.nonequilibrium, the planar problem, the 2-D solver's order and input checks."""

import numpy as np
import pytest
import torch

from sgdsde.fokker_planck import solve_stationary_2d
from sgdsde.nonequilibrium import (
    SmallNoiseExpansion,
    cell_current,
    cell_mass,
    current_curl,
    symmetric_current,
)
from sgdsde.potentials import EmpiricalCovarianceField, GradientDrift
from sgdsde.problems import warped_plane_loss
from sgdsde.sde import OrnsteinUhlenbeck

f64 = torch.float64


def _gibbs_case(X, Y):
    """U = x²/2 + y² + x⁴/10 + 0.3xy, D = 1 + 0.2(x² + y²): b = −D∇U + ∇D, a = 2D·I, p ∝ e^{−U}."""
    D = 1 + 0.2 * (X**2 + Y**2)
    gU = torch.stack([X + 0.4 * X**3 + 0.3 * Y, 2 * Y + 0.3 * X], -1)
    gD = torch.stack([0.4 * X, 0.4 * Y], -1)
    U = X**2 / 2 + Y**2 + X**4 / 10 + 0.3 * X * Y
    return -D[..., None] * gU + gD, 2 * D[..., None, None] * torch.eye(2, dtype=f64), U


def test_2d_solver_second_order_on_a_state_dependent_gibbs_law():
    # known law with θ-dependent diffusion and a non-quadratic potential: zero current, p ∝ e^{−U}
    errs, hs = [], []
    for n in (48, 96, 192):
        g = torch.linspace(-3, 3, n, dtype=f64)
        r = solve_stationary_2d(lambda X, Y: _gibbs_case(X, Y)[0],
                                lambda X, Y: _gibbs_case(X, Y)[1], g, g)
        Y, X = torch.meshgrid(g, g, indexing="ij")
        q = torch.exp(-_gibbs_case(X, Y)[2])
        q = q / (q.sum() * r.hx * r.hy)
        errs.append(float((r.p - q).abs().max() / q.max()))
        hs.append(r.hx)
        assert float(r.j.norm(dim=-1).max()) < 10 * errs[-1] * float(r.p.max())
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert errs[-1] < 2e-3
    assert 1.8 < slope < 2.2, (errs, slope)


def test_curl_of_the_ou_current_is_constant():
    A = torch.tensor([[1.0, 0.0], [0.0, 3.0]], dtype=f64)
    D = torch.tensor([[1.0, 0.5], [0.5, 1.0]], dtype=f64)
    ou = OrnsteinUhlenbeck(A, D)
    g = torch.linspace(-3, 3, 121, dtype=f64)
    r = solve_stationary_2d(-A, 2 * D, g, g)
    Y, X = torch.meshgrid(g, g, indexing="ij")
    je = ou.stationary_current(torch.stack([X, Y], -1))
    h = float(g[1] - g[0])
    exact = (torch.gradient(je[..., 1], spacing=h, dim=1)[0]
             - torch.gradient(je[..., 0], spacing=h, dim=0)[0])
    c = current_curl(r)
    inner = (slice(5, -5), slice(5, -5))
    assert float((c - exact)[inner].abs().max()) < 2e-2 * float(exact.abs().max())
    assert float(exact.abs().max()) > 0.1                       # a real circulation
    # the current is divergence-free: its net flux through a quadrant's two half-axes balances
    quad = (X > 0) & (Y > 0)
    assert 0 < cell_mass(r, quad) < 1 and cell_current(r, quad).shape == (2,)


def test_small_noise_expansion_gibbs_case():
    # Σ = I and L = ½θᵀHθ + (1/6)T θθθ: p ∝ exp(−2L/ε) = q₀(1 − (√ε/3)T(x,x,x) + …)
    H = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=f64)
    T = torch.zeros(2, 2, 2, dtype=f64)
    T[0, 0, 0], T[1, 1, 1] = 1.0, -0.6
    for idx in ((0, 0, 1), (0, 1, 0), (1, 0, 0)):
        T[idx] = 0.4
    e = SmallNoiseExpansion(H, T, torch.eye(2, dtype=f64), torch.zeros(2, 2, 2, dtype=f64))
    x = torch.randn(50, 2, dtype=f64, generator=torch.Generator().manual_seed(1))
    exact = -torch.einsum("ijk,ni,nj,nk->n", T, x, x, x) / 3
    assert torch.allclose(e.polynomial(x), exact, atol=1e-10 * float(exact.abs().max()))
    assert torch.allclose(e.S, torch.linalg.inv(H) / 2)
    assert e.residual < 1e-12


def test_warped_plane_noise_is_state_dependent_and_not_commuting():
    q = warped_plane_loss()
    th = torch.tensor([[0.0, 0.0], [0.5, -0.4]], dtype=f64)
    Sig = EmpiricalCovarianceField(q, torch.zeros(2, dtype=f64))(th)
    J = torch.stack([torch.eye(2, dtype=f64).expand(2, 2, 2)[:, 0], torch.eye(2, dtype=f64)
                     .expand(2, 2, 2)[:, 1], th.flip(-1)], -2)           # γ = 1
    C = torch.tensor([[1.0, 0.6, 0.4], [0.6, 1.0, -0.3], [0.4, -0.3, 1.0]], dtype=f64)
    assert torch.allclose(Sig, J.mT @ C @ J)
    H = q.hessian(th[0])
    assert float((H @ Sig[0] - Sig[0] @ H).abs().max()) > 0.1
    assert float((Sig[1] - Sig[0]).abs().max()) > 0.1
    assert torch.allclose(GradientDrift(q)(th), -q.grad(th))
    with pytest.raises(ValueError, match="quartic"):
        warped_plane_loss(quartic=0.0)
    with pytest.raises(ValueError, match="C must be positive definite"):
        warped_plane_loss(C=-torch.eye(3, dtype=f64))


def test_symmetric_current_on_the_ou_law():
    # exact OU current, 4000 stationary chains: within 5 SE (false-failure odds ~ 8 × 6e-7)
    from sgdsde.sde import simulate
    A = torch.tensor([[1.0, 0.0], [0.0, 3.0]], dtype=f64)
    D = torch.tensor([[1.0, 0.8], [0.8, 1.0]], dtype=f64)
    ou = OrnsteinUhlenbeck(A, D)
    S = ou.stationary_cov()
    x0 = torch.randn(4000, 2, dtype=f64, generator=torch.Generator().manual_seed(2)) @ \
        torch.linalg.cholesky(S).T
    dt = 0.01
    path = simulate(-A, torch.linalg.cholesky(2 * D), x0, dt, 200, seed=3)
    times = list(range(20, 181, 10))
    xs = path.x[times]
    inside = torch.stack([(xs[..., 0] > 0) & (xs[..., 1] > 0), (xs[..., 0] < 0) & (xs[..., 1] > 0)])
    est = symmetric_current(path.x, times, 10, inside, dt)
    g = torch.linspace(-6, 6, 1201, dtype=f64)
    Y, X = torch.meshgrid(g, g, indexing="ij")
    je = ou.stationary_current(torch.stack([X, Y], -1)) * 0.01**2
    target = torch.stack([je[(X > 0) & (Y > 0)].sum(0), je[(X < 0) & (Y > 0)].sum(0)])
    assert float(target.abs().max()) > 8 * float(est.se.max())          # powered
    assert bool(((est.value - target).abs() <= 5 * est.se + 2e-3 * target.abs()).all())


def test_bad_input_names_the_argument_and_the_point():
    g = torch.linspace(-3, 3, 41, dtype=f64)
    drift = -torch.eye(2, dtype=f64)
    with pytest.raises(ValueError, match=r"positive definite .* \(x, y\) = \(-3"):
        solve_stationary_2d(drift, lambda X, Y: (1 + X)[..., None, None] * torch.eye(2, dtype=f64),
                            g, g)
    with pytest.raises(ValueError, match=r"Péclet .* at \(x, y\)"):
        solve_stationary_2d(-50 * torch.eye(2, dtype=f64), torch.eye(2, dtype=f64), g, g)
    # |b| ≤ 0.9: Péclet 0.9 passes, but p ∝ exp(−1.8|x|) has sd 0.79 cells (h = 1)
    wide = torch.linspace(-20, 20, 41, dtype=f64)
    with pytest.raises(ValueError, match="grid_x too coarse for the law"):
        solve_stationary_2d(lambda X, Y: -0.9 * torch.stack([torch.tanh(20 * X),
                                                              torch.tanh(20 * Y)], -1),
                            torch.eye(2, dtype=f64), wide, wide)
    x = torch.zeros(10, 3, 2, dtype=f64)
    ins = torch.ones(1, 1, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match="lag"):
        symmetric_current(x, [5], 0, ins, 0.1)
    with pytest.raises(ValueError, match="times"):
        symmetric_current(x, [1], 1, ins, 0.1)
    with pytest.raises(ValueError, match="inside"):
        symmetric_current(x, [5], 1, ins.float(), 0.1)
    with pytest.raises(ValueError, match="dt"):
        symmetric_current(x, [5], 1, ins, -1.0)
    z = torch.zeros(2, 2, 2, dtype=f64)
    with pytest.raises(ValueError, match="H must be positive definite"):
        SmallNoiseExpansion(-torch.eye(2, dtype=f64), z, torch.eye(2, dtype=f64), z)
    with pytest.raises(ValueError, match="Sigma1 must have shape"):
        SmallNoiseExpansion(torch.eye(2, dtype=f64), z, torch.eye(2, dtype=f64), z[0])
    with pytest.raises(ValueError, match="eps"):
        SmallNoiseExpansion(torch.eye(2, dtype=f64), z, torch.eye(2, dtype=f64), z).density(
            torch.zeros(2), -1.0)
