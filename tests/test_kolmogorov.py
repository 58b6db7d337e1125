"""sgdsde.kolmogorov and sgdsde.ito: exact cases, the order of the SGD–SDE gap, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate as si
import sympy as sp
import torch

from sgdsde import ito
from sgdsde import kolmogorov as kol
from sgdsde.dynamics import integrate
from sgdsde.dynamics.steppers.transfer import Transfer

FLAT = kol.TrigLoss(np.zeros((2, 1)), np.zeros((2, 1)))          # L = 0, Σ = 0


def test_pure_noise_is_exact():
    """L = 0: one SGD step with Gaussian noise and the SDE both multiply cos θ by e^{−η²σ²/2}."""
    M, lr, var = 15, 0.3, 2.0
    g = kol.fourier_grid(M)
    noise = kol.GaussianNoise(var)
    damp = math.exp(-0.5 * lr**2 * var)
    P = kol.sgd_transfer(FLAT, lr, M, noise=noise)
    E = kol.sde_transfer(FLAT, lr, M, noise=noise)
    for A in (P, E):
        assert np.allclose(A @ np.cos(g), damp * np.cos(g), rtol=0, atol=1e-13)


def test_student_cf_matches_its_density():
    s = kol.StudentNoise(2.5, var=1.0)
    nu, c = s.nu, s.scale
    for u in (0.3, 1.7):
        dens = (math.gamma((nu + 1) / 2) / (math.sqrt(nu * math.pi) * math.gamma(nu / 2))
                / c)
        val = 2 * si.quad(lambda x, k=dens: k * (1 + (x / c) ** 2 / nu) ** (-(nu + 1) / 2),
                          0, np.inf, weight="cos", wvar=u)[0]
        assert abs(float(s.cf(np.array([u]))[0]) - val) < 1e-7


def test_transfer_stepper_propagates_the_law():
    P = torch.tensor([[0.9, 0.1], [0.2, 0.8]], dtype=torch.float64)
    r = integrate(Transfer(P), torch.tensor([1.0, 0.0], dtype=torch.float64), 3).x[-1, 0]
    assert torch.allclose(r, torch.tensor([1.0, 0.0], dtype=torch.float64) @ torch.linalg.matrix_power(P, 3))


def test_weak_orders_on_a_small_case():
    """The SGD–SDE gap of the chapter's theorem, at two step sizes: order 1 and order 2."""
    loss = kol.TrigLoss([[1.0, 0.5], [0.2, -0.4], [-0.6, 0.3]], [[0.3, 0.0], [1.0, 0.2], [-0.5, 0.6]])
    M = 63
    g = kol.fourier_grid(M)
    f = np.sin(g)
    errs = {1: [], 2: []}
    for lr in (2.0**-7, 2.0**-8):
        steps = int(round(0.5 / lr))
        e_sgd = kol.expectations(kol.sgd_transfer(loss, lr, M), f, 1.0, steps)
        for o in (1, 2):
            e_sde = kol.expectations(kol.sde_transfer(loss, lr, M, order=o), f, 1.0, steps)
            errs[o].append(np.abs(e_sgd - e_sde).max())
    assert abs(math.log2(errs[1][0] / errs[1][1]) - 1) < 0.15
    assert abs(math.log2(errs[2][0] / errs[2][1]) - 2) < 0.15


def test_ito_drift_is_the_generator():
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    b, s = sp.Function("b")(x), sp.Function("s")(x)
    lhs = ito.ito_drift(u, t, [x], [b], [[s]])
    rhs = sp.diff(u, t) + ito.generator([x], [b], [[s**2]])(u)
    assert sp.expand(lhs - rhs) == 0


@pytest.mark.parametrize("call, message", [
    (lambda: kol.fourier_grid(10), r"M \(grid points\) must be an odd integer >= 9"),
    (lambda: kol.sgd_transfer(FLAT, 0.0, 15), "lr must be a finite number > 0"),
    (lambda: kol.sgd_transfer(FLAT, 0.1, 15, batch_size=0), "batch_size must be an integer >= 1"),
    (lambda: kol.generator(FLAT, 0.1, 15, order=3), "order must be 1 or 2"),
    (lambda: kol.StudentNoise(1.5), "nu must be a finite number > 2"),
    (lambda: kol.GaussianNoise(-1.0), "var must be a finite number > 0"),
    (lambda: kol.expectations(np.eye(15), np.ones(9), 0.0, 1), "f_values must have shape"),
    (lambda: kol.expectations(np.eye(15), np.ones(15), float("nan"), 1), "theta0 must be finite"),
    (lambda: kol.TrigLoss(np.ones((2, 1)), np.ones((3, 1))), "cos_coef and sin_coef"),
    (lambda: ito.ito_taylor(sp.Symbol("x"), ito.generator([sp.Symbol("x")], [0], [[0]]),
                            sp.Symbol("h"), 1.5), "order must be an integer"),
    (lambda: ito.generator([sp.Symbol("x")], [0], [[0, 1]]), "diffusion must be a 1 x 1"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
