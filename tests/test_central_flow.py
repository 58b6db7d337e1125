"""The central-flow stepper (sgdsde.dynamics.CentralFlow): gradient flow below the edge, the
constraint S = 2/η and the closed form of a two-parameter model at the edge; bad input."""

from __future__ import annotations

import math

import pytest
import torch

from sgdsde.dynamics import CentralFlow, integrate

EPS = torch.finfo(torch.float64).eps
H = torch.diag(torch.tensor([1.0, 0.25], dtype=torch.float64))


def quad(w):
    return 0.5 * w @ H @ w


def toy(w):
    """L = ½ e^{w₂} w₁² + ½ (w₂ − 3)²: gradient flow raises S ≈ e^{w₂} towards e³ ≈ 20."""
    return 0.5 * torch.exp(w[1]) * w[0] ** 2 + 0.5 * (w[1] - 3) ** 2


def test_below_the_edge_it_is_gradient_flow_of_order_one():
    eta, T = 0.2, 10.0  # S = 1 < 2/η = 10: the constraint never binds
    w0 = torch.ones(2, dtype=torch.float64)
    exact = torch.exp(-eta * T * torch.diag(H)) * w0
    errs = []
    for dt in (0.25, 0.125, 0.0625):
        n = round(T / dt)
        cf = integrate(CentralFlow(quad, eta, dt), w0, n, save_every=n)
        gf = integrate(CentralFlow(quad, eta, dt, constrained=False), w0, n, save_every=n)
        assert torch.equal(cf.x, gf.x) and float(cf.extra["sigma2"].abs().max()) == 0
        euler = (1 - dt * eta * torch.diag(H)) ** n * w0  # Euler's closed form
        assert torch.allclose(cf.x[-1, 0], euler, rtol=100 * EPS * n, atol=0)
        errs.append(float((cf.x[-1, 0] - exact).norm()))
    rates = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert all(abs(r - 1) < 0.1 for r in rates), rates  # weak = strong order 1 (Euler)


@pytest.mark.parametrize("eta", [0.5, 0.25])
def test_at_the_edge_the_constraint_holds_and_sigma2_has_its_closed_form(eta):
    # On the constraint e^{w₂} = 2/η (w₁ → 0): σ² = −2⟨∇S, ∇L⟩/‖∇S‖² = η (3 − log(2/η)).
    w0 = torch.tensor([0.05, 0.0], dtype=torch.float64)
    dt, T = 0.25, 25.0
    devs = []
    for h in (dt, dt / 2):
        path = integrate(CentralFlow(toy, eta, h, eig_iters=2), w0, round(T / h))
        S, s2 = path.extra["sharpness"][:, 0], path.extra["sigma2"][:, 0]
        on = s2 > 0
        assert bool(on.any()) and bool((s2 >= 0).all())
        dev = (S[int(on.nonzero()[0, 0]) + 1 :] * eta / 2 - 1).abs()
        assert float(dev[-10:].max()) <= 1e3 * EPS  # on the constraint at the end
        devs.append(float(dev.max()))
    # the linearised projection leaves an O(dt²) excess while S arrives, then corrects it
    assert devs[0] <= 0.01 and devs[1] <= devs[0] / 3, devs
    w_end = path.x[-1, 0]
    assert abs(float(w_end[1]) - math.log(2 / eta)) <= 1e-5
    assert abs(float(s2[-1]) - eta * (3 - math.log(2 / eta))) <= 1e-4 * eta
    # gradient flow, by contrast, runs S far past 2/η
    gf = integrate(CentralFlow(toy, eta, dt, eig_iters=2, constrained=False), w0, round(T / dt))
    assert float(gf.extra["sharpness"][-1, 0]) * eta / 2 > 2


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(lr=0.0), "lr must be a float > 0"),
        (dict(lr=0.1, dt=0.5), r"dt must be a float in \(0, 0.5\)"),
        (dict(lr=0.1, eig_iters=0), "eig_iters must be an int >= 1"),
        (dict(lr=0.1, active=0.0), r"active must be a float in \(0, 1\]"),
    ],
)
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        CentralFlow(quad, **kw)


def test_one_chain_only_and_a_callable_loss():
    with pytest.raises(ValueError, match="CentralFlow integrates one chain; got 2"):
        integrate(CentralFlow(quad, 0.1), torch.ones(2, dtype=torch.float64), 3, chains=2)
    with pytest.raises(TypeError, match="loss must be an sgdsde Problem or a callable"):
        CentralFlow("quad", 0.1)
