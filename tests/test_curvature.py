"""sgdsde.curvature against dense Hessians (torch.autograd.functional.hessian) and finite
differences; bad input errors."""

from __future__ import annotations

import pytest
import torch

from sgdsde import curvature
from sgdsde.problems import LinearRegression, gaussian_regression

EPS = torch.finfo(torch.float64).eps


def _net(seed=0, n=12, d_in=3, width=3):
    """A tiny tanh network's squared loss as a function of its flat parameters (d = 16)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d_in, generator=g, dtype=torch.float64)
    y = torch.randn(n, generator=g, dtype=torch.float64)
    d = d_in * width + width + width + 1

    def loss(th):
        W1 = th[: d_in * width].view(width, d_in)
        b1 = th[d_in * width : d_in * width + width]
        w2 = th[d_in * width + width : d_in * width + 2 * width]
        out = torch.tanh(X @ W1.T + b1) @ w2 + th[-1]
        return 0.5 * ((out - y) ** 2).mean()

    th = torch.randn(d, generator=g, dtype=torch.float64)
    return loss, th


def _dense(loss, th):
    return torch.autograd.functional.hessian(loss, th)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hvp_matches_the_dense_hessian(seed):
    loss, th = _net(seed)
    H = _dense(loss, th)
    v = torch.randn(th.shape[0], generator=torch.Generator().manual_seed(seed + 9)).double()
    tol = 100 * EPS * float(torch.linalg.matrix_norm(H, 2)) * float(v.norm()) * th.shape[0]
    assert float((curvature.hvp(loss, th, v) - H @ v).norm()) <= tol


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lanczos_top_eigenpair_matches_eigh(seed):
    loss, th = _net(seed)
    H = _dense(loss, th)
    ev, V = torch.linalg.eigh(H)
    scale = float(ev.abs().max())
    lam, u = curvature.lanczos(loss, th, iters=th.shape[0])  # full Krylov space: exact
    assert abs(lam - float(ev[-1])) <= 1e3 * EPS * scale * th.shape[0]
    assert float((H @ u - lam * u).norm()) <= 1e-6 * scale  # residual of the Ritz pair
    assert abs(float(u.norm()) - 1) <= 100 * EPS


def test_power_iteration_converges_at_its_rate():
    # spectrum 4, 2, 1: error of λ after k steps ≲ (2/4)^(2k) (Rayleigh quotient of a symmetric H)
    A = torch.diag(torch.tensor([4.0, 2.0, 1.0], dtype=torch.float64))
    Q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(0)).double())
    H = Q @ A @ Q.T
    quad = lambda t: 0.5 * t @ H @ t  # noqa: E731
    for k in (5, 10, 20):
        lam, u = curvature.power_iteration(quad, torch.zeros(3, dtype=torch.float64), k)
        assert 0 <= 4 - lam <= 100 * 0.5 ** (2 * k) + 100 * EPS * 4
    assert abs(abs(float(u @ Q[:, 0])) - 1) < 1e-9


def test_power_iteration_and_lanczos_on_a_problem():
    p = LinearRegression(*gaussian_regression(40, 5, seed=3))
    top = float(torch.linalg.eigvalsh(p.hessian(p.theta0)).max())
    lam_p, _ = curvature.power_iteration(p, p.theta0, 300)
    lam_l, _ = curvature.lanczos(p, p.theta0, 5)
    assert abs(lam_p - top) <= 1e-8 * top and abs(lam_l - top) <= 1e3 * EPS * top * 5


def test_lanczos_returns_the_largest_not_the_largest_magnitude():
    A = torch.diag(torch.tensor([1.0, -5.0, 2.0, 0.5], dtype=torch.float64))
    lam, u = curvature.lanczos(lambda t: 0.5 * t @ A @ t, torch.zeros(4).double(), 4)
    assert abs(lam - 2.0) <= 1e3 * EPS * 5 and abs(abs(float(u[2])) - 1) < 1e-9


@pytest.mark.parametrize("seed", [0, 1])
def test_sharpness_gradient_matches_finite_differences(seed):
    loss, th = _net(seed)
    d = th.shape[0]

    def top(t):
        return float(torch.linalg.eigvalsh(_dense(loss, t))[-1])

    ev, V = torch.linalg.eigh(_dense(loss, th))
    assert float(ev[-1] - ev[-2]) > 1e-3 * float(ev.abs().max())  # simple top eigenvalue
    gS = curvature.sharpness_gradient(loss, th, V[:, -1])
    h = 1e-5
    fd = torch.tensor(
        [(top(th + h * e) - top(th - h * e)) / (2 * h) for e in torch.eye(d, dtype=torch.float64)]
    )
    # central differences: error O(h²·S''') + rounding O(eps·S/h)
    tol = 1e-6 * max(1.0, float(gS.abs().max())) + 1e3 * EPS * abs(float(ev[-1])) / h
    assert float((gS - fd).abs().max()) <= tol


def test_track_sharpness_warm_equals_cold():
    loss, th = _net(0)
    ths = torch.stack([th + 0.01 * k * torch.ones_like(th) for k in range(4)])
    S, u = curvature.track_sharpness(loss, ths, iters=th.shape[0])
    cold = [float(torch.linalg.eigvalsh(_dense(loss, t))[-1]) for t in ths]
    assert torch.allclose(S, torch.tensor(cold, dtype=torch.float64), rtol=1e-9, atol=0)
    Sp, _ = curvature.track_sharpness(loss, ths, iters=150, method="power")
    assert torch.allclose(Sp, S, rtol=1e-4)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda L, th: curvature.power_iteration(L, th, 0), "iters must be an int >= 1"),
        (lambda L, th: curvature.lanczos(L, th, 2.5), "iters must be an int >= 1"),
        (lambda L, th: curvature.lanczos(L, th.view(2, -1)), r"theta must be .* shape \(d,\)"),
        (lambda L, th: curvature.hvp(L, th, th[:3]), r"v must be a tensor of shape"),
        (lambda L, th: curvature.lanczos(L, th, 3, th[:2]), r"v0 must be a tensor of shape"),
        (lambda L, th: curvature.lanczos(L, th, 3, 0 * th), "v0 must be finite and non-zero"),
        (lambda L, th: curvature.sharpness_gradient(L, th, 0 * th), "u must be finite"),
        (lambda L, th: curvature.track_sharpness(L, th[None], method="qr"), "method must be"),
        (lambda L, th: curvature.track_sharpness(L, th[:0].view(0, 16)), "thetas is empty"),
        (lambda L, th: curvature.hvp(lambda t: t * 2, th, th), "loss.theta. must be a scalar"),
    ],
)
def test_bad_input(call, match):
    loss, th = _net(0)
    with pytest.raises(ValueError, match=match):
        call(loss, th)


def test_bad_loss_type():
    with pytest.raises(TypeError, match="loss must be an sgdsde Problem or a callable"):
        curvature.hvp(3.0, torch.zeros(2).double(), torch.zeros(2).double())
