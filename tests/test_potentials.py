"""Named drifts: a matrix drift is the same as the callable it stands for, in both engines."""

import pytest
import torch

from sgdsde import fokker_planck, sde
from sgdsde.potentials import ConstantField, LinearDrift, QuarticDoubleWell, as_drift

f64 = torch.float64
H = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=f64)


def test_matrix_drift_equals_callable_in_simulate():
    x0 = torch.ones(2, dtype=f64)
    kw = dict(dt=0.01, steps=50, chains=8, seed=3)
    a = sde.simulate(-H, torch.tensor(0.3, dtype=f64), x0, **kw)
    b = sde.simulate(lambda x: -x @ H.T, torch.tensor(0.3, dtype=f64), x0, **kw)
    assert torch.equal(a.x, b.x)


def test_matrix_and_field_drift_equal_callable_in_fokker_planck():
    g = torch.linspace(-3, 3, 41, dtype=f64)
    a = 2 * torch.eye(2, dtype=f64)
    r1 = fokker_planck.solve_stationary_2d(-H, a, g, g)
    r2 = fokker_planck.solve_stationary_2d(
        lambda X, Y: -torch.stack([X, Y], -1) @ H.T, lambda X, Y: a, g, g
    )
    r3 = fokker_planck.solve_stationary_2d(LinearDrift(-H), ConstantField(a), g, g)
    scale = float(r1.p.abs().max())
    assert float((r1.p - r2.p).abs().max()) <= 1e-12 * scale
    assert float((r3.p - r2.p).abs().max()) <= 1e-12 * scale


def test_double_well_is_minus_gradient_of_its_potential():
    U = QuarticDoubleWell(scale=2.0)
    x = torch.linspace(-2, 2, 9, dtype=f64, requires_grad=True)
    (g,) = torch.autograd.grad(U.potential(x).sum(), x)
    assert torch.allclose(U(x.detach()), -g, rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.ones(2, 3, dtype=f64), "square"),
        (torch.ones(2, 2, dtype=torch.int64), "floating"),
        (torch.tensor([[float("nan")]], dtype=f64), "finite"),
    ],
)
def test_linear_drift_rejects_bad_matrices(bad, match):
    with pytest.raises(ValueError, match=match):
        LinearDrift(bad)


def test_bad_drift_and_scale_name_the_argument():
    with pytest.raises(TypeError, match="drift"):
        as_drift("not a drift")
    with pytest.raises(ValueError, match="scale"):
        QuarticDoubleWell(scale=0.0)


# --- QuadraticVariance --------------------------------------------------------------------------


def test_quadratic_variance_values_std_and_errors():
    import pytest
    import torch

    from sgdsde.potentials import QuadraticVariance

    Q = torch.tensor([[8.0, 0.0], [0.0, 24.0]], dtype=torch.float64)
    a = QuadraticVariance(2.0, Q)
    x = torch.tensor([[0.1, -0.2], [0.0, 0.0]], dtype=torch.float64)
    want = 2 * (1 + 8 * x[:, 0] ** 2 + 24 * x[:, 1] ** 2)
    assert torch.allclose(a(x), want[:, None, None] * torch.eye(2, dtype=torch.float64))
    assert torch.allclose(a.std()(x), want.sqrt()[:, None].expand(2, 2))
    X, Y = torch.zeros(3, 4, dtype=torch.float64), torch.ones(3, 4, dtype=torch.float64)
    assert a.on_grid(X, Y).shape == (3, 4, 2, 2)
    with pytest.raises(ValueError, match="scale"):
        QuadraticVariance(0.0, Q)
    with pytest.raises(ValueError, match="semi-definite"):
        QuadraticVariance(1.0, -Q)
    with pytest.raises(ValueError, match="symmetric"):
        QuadraticVariance(1.0, torch.tensor([[0.0, 1.0], [0.0, 0.0]], dtype=torch.float64))


# ---- state-dependent diffusion fields --------------------------------------------------------


def test_empirical_covariance_field_is_scaled_sigma_emp_at_shifted_points():
    from sgdsde import noise
    from sgdsde.potentials import EmpiricalCovarianceField
    from sgdsde.problems import LinearRegression, gaussian_regression

    lin = LinearRegression(*gaussian_regression(40, 2, seed=1))
    th = lin.minimizer()
    a = EmpiricalCovarianceField(lin, th, scale=0.3)
    x = torch.randn(5, 7, 2, generator=torch.Generator().manual_seed(2), dtype=f64)
    want = 0.3 * noise.empirical_covariance(lin, th + x)
    got = a(x)
    assert got.shape == (5, 7, 2, 2)
    assert torch.allclose(got, want, rtol=1e3 * torch.finfo(f64).eps, atol=0)
    X, Y = x[..., 0], x[..., 1]
    assert torch.equal(a.on_grid(X, Y), got)
    with pytest.raises(TypeError, match="problem"):
        EmpiricalCovarianceField(object(), th)
    with pytest.raises(ValueError, match="scale"):
        EmpiricalCovarianceField(lin, th, scale=0.0)
    with pytest.raises(ValueError, match="center"):
        EmpiricalCovarianceField(lin, th[None])
    with pytest.raises(ValueError, match="x must"):
        a(torch.zeros(3, dtype=f64))


def test_isotropic_loss_diffusion_keeps_detailed_balance_in_fokker_planck():
    from sgdsde.potentials import EmpiricalCovarianceField, IsotropicLossDiffusion
    from sgdsde.problems import LinearRegression, gaussian_regression

    Hd = torch.diag(torch.tensor([2.0, 1.0], dtype=f64))
    a = IsotropicLossDiffusion(Hd, scale=0.5, slope=2.0)
    x = torch.tensor([[1.0, 1.0], [0.0, 0.0]], dtype=f64)
    L = torch.tensor([1.5, 0.0], dtype=f64)
    want = 0.5 * (1 + 2.0 * L)[:, None, None] * torch.eye(2, dtype=f64)
    assert torch.allclose(a(x), want, rtol=1e2 * torch.finfo(f64).eps, atol=0)
    # gradient drift with a diffusion that is a function of the loss times I: no current, up to
    # the O(h²) discretisation error, which shrinks under refinement; measured against the
    # drift flux |b p|
    def rel_current(fp, M):
        Y, X = torch.meshgrid(fp.y, fp.x, indexing="ij")
        b = torch.stack([X, Y], -1) @ M.T
        return float(fp.j.norm(dim=-1).max() / (b.norm(dim=-1) * fp.p).max())

    j = []
    for N in (40, 80):
        gN = torch.linspace(-3, 3, N, dtype=f64)
        j.append(rel_current(fokker_planck.solve_stationary_2d(-Hd, a, gN, gN), -Hd))
    assert j[1] < j[0] / 3
    # the data's Σ(θ), which does not commute with H, gives a current far above that
    lin = LinearRegression(*gaussian_regression(60, 2, seed=4))
    th = lin.minimizer()
    Hl = lin.hessian(th)
    Sd = EmpiricalCovarianceField(lin, th)
    half = 5 * (torch.diagonal(Sd(torch.zeros(2, dtype=f64))) / torch.diagonal(Hl) / 2).sqrt()
    gx = torch.linspace(-float(half[0]), float(half[0]), 80, dtype=f64)
    gy = torch.linspace(-float(half[1]), float(half[1]), 80, dtype=f64)
    j_data = rel_current(fokker_planck.solve_stationary_2d(-Hl, Sd, gx, gy), -Hl)
    assert j_data > 10 * j[1], (j_data, j)
    with pytest.raises(ValueError, match="symmetric"):
        IsotropicLossDiffusion(torch.tensor([[1.0, 1.0], [0.0, 1.0]], dtype=f64), scale=1.0)
    with pytest.raises(ValueError, match="slope"):
        IsotropicLossDiffusion(Hd, scale=1.0, slope=-1.0)
    with pytest.raises(ValueError, match="scale"):
        IsotropicLossDiffusion(Hd, scale=float("nan"))
