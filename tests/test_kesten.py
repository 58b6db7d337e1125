"""The Kesten tail-index equation (sgdsde.kesten) and the online least-squares stepper."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sgdsde.dynamics import OnlineLeastSquares, integrate
from sgdsde.kesten import (
    finite_sum_tail_index,
    kesten_moment,
    kesten_tail_index,
    lyapunov_exponent,
    variance_threshold_lr,
)

torch.set_num_threads(1)


@pytest.mark.parametrize("B,d", [(1, 1), (3, 1), (1, 3), (2, 5)])
def test_alpha_is_two_at_the_variance_threshold(B, d):
    # E‖Ae₁‖² = 1 − 2cB + c²B(B + d + 1) (χ² moments) vanishes-minus-one at η = 2B/(B + d + 1)
    lr = variance_threshold_lr(B, d)
    assert kesten_tail_index(lr, B, d) == pytest.approx(2.0, abs=1e-6)
    c = lr / B
    for a_lr in (0.5 * lr, 1.3 * lr):
        c = a_lr / B
        assert kesten_moment(2, a_lr, B, d) == pytest.approx(1 - 2 * c * B + c * c * B * (B + d + 1),
                                                             rel=1e-8)


def test_alpha_is_four_where_the_fourth_moment_is_one():
    # d = B = 1: E(1 − ηQ)⁴ = 1 − 4η + 18η² − 60η³ + 105η⁴ (E Q^j = 1, 3, 15, 105) = 1
    roots = np.roots([105, -60, 18, -4])
    lr = float(next(r.real for r in roots if abs(r.imag) < 1e-12 and r.real > 0))
    assert kesten_tail_index(lr, 1, 1) == pytest.approx(4.0, abs=1e-6)


def test_alpha_decreases_with_lr_and_blows_up_as_lr_to_zero():
    lrs = [0.01, 0.05, 0.2, 0.5, 1.0, 2.0]
    al = [kesten_tail_index(lr, 1, 1) for lr in lrs]
    assert all(a > b for a, b in zip(al, al[1:]))
    assert al[0] > 100 and al[1] > 20  # α grows like a constant times B/η
    assert kesten_tail_index(1e-4, 1, 1) == math.inf  # beyond alpha_max


@pytest.mark.parametrize("c,a", [(0.01, 230.0), (0.03, 59.0), (0.2, 8.0), (1.0, 0.7)])
def test_moment_at_large_alpha_against_a_fine_grid(c, a):
    # d = B = 1: h(α) = ∫ |1 − cu²|^α e^{−u²/2} du·√(2/π) (Q = u²) by the trapezoid rule on a
    # fine grid; the peak of the far tail near Q = 2α + 1/c must not be missed (h(230) ≈ 6e30)
    u = np.linspace(0, math.sqrt(2 / c + 8 * a + 400), 1_000_001)
    g = np.exp(a * np.log(np.abs(1 - c * u * u) + 1e-300) - u * u / 2) * math.sqrt(2 / math.pi)
    assert kesten_moment(a, c, 1) == pytest.approx(np.trapezoid(g, u), rel=1e-6)


def test_moment_in_d_dimensions_matches_monte_carlo():
    # h(α) = E‖(I − cXᵀX)e₁‖^α by brute force on X, 5 SE (false failure ≤ 3 × 5.7e-7)
    rng = np.random.default_rng(0)
    for a, lr, B, d in [(1.3, 0.8, 2, 3), (0.7, 0.4, 1, 5), (3.0, 0.5, 4, 2)]:
        X = rng.standard_normal((100_000, B, d))
        v = np.zeros((100_000, d))
        v[:, 0] = 1
        v -= lr / B * np.einsum("nbi,nb->ni", X, X[:, :, 0])
        s = np.linalg.norm(v, axis=1) ** a
        assert abs(kesten_moment(a, lr, B, d) - s.mean()) < 5 * s.std() / math.sqrt(s.size)


def test_lyapunov_sign_and_no_stationary_law_error():
    assert lyapunov_exponent(0.5, 1) < 0 < lyapunov_exponent(3.0, 1)
    with pytest.raises(ValueError, match="no stationary law"):
        kesten_tail_index(3.0, 1)
    with pytest.raises(ValueError, match="no stationary law"):
        kesten_tail_index(1.0, 1, 4)


@pytest.mark.parametrize(
    "args,match",
    [((0.0, 1), "lr"), ((-1.0, 1), "lr"), ((float("nan"), 1), "lr"), ((0.1, 0), "batch_size"),
     ((0.1, 1.5), "batch_size"), ((0.1, True), "batch_size"), ((0.1, 1, 0), "dim")],
)
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        kesten_tail_index(*args)
    with pytest.raises(ValueError, match="alpha"):
        kesten_moment(-1.0, 0.1, 1)


def test_finite_sum_equation():
    x = np.array([0.3, 0.9, 1.4, 2.0])
    assert finite_sum_tail_index(x, 1.9 / 4.0) == math.inf  # η max x² < 2: bounded
    lr = 0.8
    a = finite_sum_tail_index(x, lr)
    assert np.mean(np.abs(1 - lr * x**2) ** a) == pytest.approx(1, abs=1e-9)
    # B = 2 with replacement: brute force over the n² ordered pairs
    a2 = finite_sum_tail_index(x, 1.2, 2)
    s = (x[:, None] ** 2 + x[None, :] ** 2).ravel()
    assert np.mean(np.abs(1 - 0.6 * s) ** a2) == pytest.approx(1, abs=1e-9)
    with pytest.raises(ValueError, match="no stationary law"):
        finite_sum_tail_index(x, 3.0)
    with pytest.raises(ValueError, match="x must be"):
        finite_sum_tail_index(np.ones((2, 2)), 0.1)
    with pytest.raises(ValueError, match="too many"):
        finite_sum_tail_index(np.ones(100), 0.1, 4)


def test_online_stepper_second_moment_and_noise():
    # stationary E θθᵀ = (η/B)σ²/(2 − η(B + d + 1)/B) I; 5 SE over chains × coordinates
    lr, B, d = 0.3, 2, 3
    st = OnlineLeastSquares(lr, B, noise_std=0.5)
    p = integrate(st, torch.zeros(d, dtype=torch.float64), 200, chains=4000, seed=1,
                  save_every=200)
    v = p.final**2
    target = lr / B * 0.25 / (2 - lr * (B + d + 1) / B)
    assert abs(float(v.mean()) - target) < 5 * float(v.std()) / math.sqrt(v.numel()) * 2
    z = torch.randn((5, B, d + 1), dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    th = torch.randn((5, d), dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    X, eps = z[..., :-1], z[..., -1]
    gB = torch.einsum("cbi,cb->ci", X, torch.einsum("cbi,ci->cb", X, th) - 0.5 * eps) / B
    torch.testing.assert_close(st.noise(th, z), th - gB)
    torch.testing.assert_close(st.step(th, z, 0), th - lr * gB)
    with pytest.raises(ValueError, match="batch_size"):
        OnlineLeastSquares(0.1, 0)
    with pytest.raises(ValueError, match="noise_std"):
        OnlineLeastSquares(0.1, 1, noise_std=-1.0)
