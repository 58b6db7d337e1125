"""Tests of the dynamics core (sgdsde.dynamics): declared orders measured, stopping rules,
divergence, the one result type, and no dynamics loop left outside the core.

Orders are measured by halving the step on a common noise path (coarse increments are sums of
fine ones, divided by r^(1/2) or r^(1/α)) against a fine reference, or exactly where the dynamics
is deterministic. A declared order p passes when the fitted slope is within 0.2 of p (a strong
order is a lower bound: the slope must be ≥ p − 0.2). Monte Carlo differences are resolved at
5 SE (two-sided normal false-failure odds 5.7e-7 per check, `sgdsde.stats.false_failure_prob`).

Not measured here: SGD's weak order 1 against SGD's SDE (23) with noise, which the chapter
05_sde_limit measures exactly on a linear model and by Monte Carlo on a logistic regression.
"""
import math

import numpy as np
import pytest
import torch

from sgdsde import problems as P
from sgdsde import sgd
from sgdsde.dynamics import (
    SGD,
    SGDSDE,
    DivergenceError,
    EulerMaruyama,
    FirstExit,
    Horizon,
    ModifiedEquation,
    Path,
    Stepper,
    integrate,
)
from sgdsde.levy import symmetric_stable
from sgdsde.sde import simulate

f64 = torch.float64


def _slope(hs, errs):
    return float(np.polyfit(np.log(hs), np.log(np.abs(errs)), 1)[0])


def _coupled_errors(make, x0, T, N, alpha=2.0, K=10, levels=range(3, 8), f=torch.cos, seed=0):
    """Strong L¹ errors and weak errors of f, with SEs, of ``make(dt, increments)`` at dt = T/2^k
    against the same stepper at dt = T/2^K on the same noise path."""
    g = torch.Generator().manual_seed(seed)
    m = x0.shape[-1]
    if alpha == 2.0:
        zf = torch.randn(2**K, N, m, dtype=f64, generator=g)
    else:
        zf = symmetric_stable(alpha, (2**K, N, m), generator=g)
    ref = integrate(make(T / 2**K, zf), x0, 2**K, chains=N, save_every=2**K).final
    hs, strong, weak, weak_se = [], [], [], []
    for k in levels:
        r = 2 ** (K - k)
        z = zf.reshape(2**k, r, N, m).sum(1) / r ** (1 / alpha)
        xh = integrate(make(T / 2**k, z), x0, 2**k, chains=N, save_every=2**k).final
        hs.append(T / 2**k)
        strong.append(float((xh - ref).abs().sum(-1).mean()))
        dlt = (f(xh) - f(ref)).sum(-1)
        weak.append(float(dlt.mean()))
        weak_se.append(float(dlt.std()) / math.sqrt(N))
    return np.array(hs), np.array(strong), np.array(weak), np.array(weak_se)


# -- declared orders, measured ------------------------------------------------------------------
@pytest.mark.parametrize("noise,alpha", [("gaussian", 2.0), ("alpha_stable", 1.5)])
def test_euler_maruyama_additive_noise_orders(noise, alpha):
    drift = lambda x: -x - torch.sin(3 * x)          # noqa: E731  non-linear, Lipschitz
    kw = dict(noise=noise, alpha=None if noise == "gaussian" else alpha)
    make = lambda dt, z: EulerMaruyama(drift, torch.tensor(0.5, dtype=f64), dt, increments=z, **kw)  # noqa: E731
    em = make(0.1, None)
    assert (em.weak_order, em.strong_order) == (1.0, 1.0)
    x0 = torch.ones(1, dtype=f64)
    hs, strong, weak, se = _coupled_errors(make, x0, 1.0, 4000, alpha=alpha)
    assert _slope(hs, strong) >= em.strong_order - 0.2, strong
    assert np.all(np.abs(weak) > 5 * se), (weak, se)                 # every weak error resolved
    assert abs(_slope(hs, weak) - em.weak_order) < 0.2, weak


def test_euler_maruyama_multiplicative_noise_orders():
    mu, sig = 0.5, 0.5                                              # GBM dx = μx dt + σx dW
    make = lambda dt, z: EulerMaruyama(lambda x: mu * x, lambda x: sig * x, dt, increments=z)  # noqa: E731
    em = make(0.1, None)
    assert (em.weak_order, em.strong_order) == (1.0, 0.5)
    hs, strong, weak, se = _coupled_errors(make, torch.ones(1, dtype=f64), 1.0, 20_000,
                                           f=lambda x: x**2)
    assert abs(_slope(hs, strong) - em.strong_order) < 0.2, strong
    assert np.all(np.abs(weak) > 5 * se)
    assert abs(_slope(hs, weak) - em.weak_order) < 0.2, weak
    # a state-dependent α-stable diffusion claims no strong order
    assert EulerMaruyama(lambda x: -x, lambda x: x, 0.1, noise="alpha_stable", alpha=1.5).strong_order is None


@pytest.fixture(scope="module")
def lin():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(20, 2, generator=g, dtype=f64) * torch.tensor([1.0, 0.6], dtype=f64)
    y = X @ torch.tensor([1.0, -1.0], dtype=f64) + 0.3 * torch.randn(20, generator=g, dtype=f64)
    return P.LinearRegression(X, y)


def _flow(p, theta0, t, M=None):
    """Exact solution of θ' = −M (Hθ − b) (gradient flow for M = I) at time t."""
    H = p.X.T @ p.X / p.n
    b = p.X.T @ p.y / p.n
    M = torch.eye(p.d, dtype=f64) if M is None else M
    star = torch.linalg.solve(H, b)
    return star + torch.linalg.matrix_exp(-M @ H * t) @ (theta0 - star)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_sgd_stepper_orders_full_batch(lin, momentum):
    # full batch: GD is Euler for gradient flow (heavy ball: for θ' = −∇L/(1 − μ)), order 1 in η
    st = SGD(lin, 0.1, None, momentum=momentum)
    assert (st.weak_order, st.strong_order) == (1.0, None)
    theta0 = torch.tensor([3.0, 3.0], dtype=f64)
    T, hs, errs = 2.0, [], []
    for k in range(3, 8):
        eta = 2.0 ** -k
        x = integrate(SGD(lin, eta, None, momentum=momentum), theta0, int(T / eta), save_every=10**9).final[0]
        errs.append(float((x - _flow(lin, theta0, T / (1 - momentum))).norm()))
        hs.append(eta)
    assert abs(_slope(hs, errs) - st.weak_order) < 0.2, errs


def test_sgd_sde_stepper_orders_in_dt_and_in_eta(lin):
    theta0 = torch.tensor([3.0, 3.0], dtype=f64)
    H = lin.X.T @ lin.X / lin.n
    I2 = torch.eye(2, dtype=f64)
    # (i) in dt: Euler for the (noise-free) modified flow θ' = −(I + ηH/2)∇L, order 1
    eta, T = 0.2, 1.0
    st = ModifiedEquation(lin, eta, 0.1, 0.0)
    assert (st.weak_order, st.strong_order, st.model_order) == (1.0, 0.5, 2)
    exact = _flow(lin, theta0, T, I2 + eta / 2 * H)
    hs, errs = [], []
    for k in range(3, 8):
        dt = 2.0 ** -k
        x = integrate(ModifiedEquation(lin, eta, dt, 0.0), theta0, int(T / dt), save_every=10**9).final[0]
        hs.append(dt)
        errs.append(float((x - exact).norm()))
    assert abs(_slope(hs, errs) - st.weak_order) < 0.2, errs
    # (ii) in η: GD (SGD with B = n) against (23) (order 1) and the modified equation (order 2),
    # each solved with dt = η²/4 so that Euler's O(dt) error is O(η²) too
    T = 1.0
    for order in (1, 2):
        hs, errs = [], []
        for k in range(3, 7):
            eta = 2.0 ** -k
            gd = integrate(SGD(lin, eta, None), theta0, int(T / eta), save_every=10**9).final[0]
            dt = eta**2 / 4
            x = integrate(SGDSDE(lin, eta, dt, 0.0, order=order), theta0, int(T / dt),
                          save_every=10**9).final[0]
            hs.append(eta)
            errs.append(float((x - gd).norm()))
        assert abs(_slope(hs, errs) - order) < 0.2, (order, errs)
    # (iii) strong order 1/2 of Euler–Maruyama for (23) with its state-dependent noise
    n, B = lin.n, 4
    scale = math.sqrt(0.2 / B) / math.sqrt(n)   # √(dt η/B)/√n with the √dt inside the increments
    g = torch.Generator().manual_seed(1)
    N, K = 2000, 10
    zf = torch.randn(2**K, N, n, dtype=f64, generator=g)

    def run(k, z):
        dt = 1.0 / 2**k
        return integrate(SGDSDE(lin, 0.2, dt, scale * math.sqrt(dt), increments=z), theta0, 2**k,
                         chains=N, save_every=2**k).final
    ref = run(K, zf)
    hs, strong = [], []
    for k in range(3, 8):
        r = 2 ** (K - k)
        hs.append(1.0 / 2**k)
        strong.append(float((run(k, zf.reshape(2**k, r, N, n).sum(1) / math.sqrt(r)) - ref).norm(dim=-1).mean()))
    assert _slope(hs, strong) >= st.strong_order - 0.2, strong


# -- stopping rules -----------------------------------------------------------------------------
@pytest.mark.parametrize("compact_every", [None, 1, 3, 64])
def test_first_exit_records_exit_steps_and_censoring(compact_every):
    # x_k = x_0 + k·v·dt per chain: the exit step from {x < 1} is known exactly
    v = torch.tensor([[1.0], [2.0], [0.0], [4.0], [-1.0]], dtype=f64)
    x0 = torch.tensor([[0.0], [0.0], [0.5], [1.5], [0.0]], dtype=f64)

    class Moving(Stepper):  # per-chain speeds, dropped with their chains under compaction
        def __init__(self):
            self.v = v.clone()

        def step(self, x, z, k):
            return x + 0.1 * self.v

        def select(self, keep):
            self.v = self.v[keep]

    st = Moving()
    path = integrate(st, x0, 30, save_every=7, stop=FirstExit(lambda x, ids: x[:, 0] >= 1.0 - 1e-9,
                                                             compact_every=compact_every))
    assert path.exit_step.tolist() == [10, 5, -1, 0, -1]
    assert path.censored.tolist() == [False, False, True, False, True]
    # a stopped chain stays at its exit state; the others run to the horizon
    torch.testing.assert_close(path.final[:, 0], torch.tensor([1.0, 1.0, 0.5, 1.5, -3.0], dtype=f64))
    assert path.step.tolist() == [0, 7, 14, 21, 28, 30]


def test_first_exit_brownian_mean_exit_time():
    # W from 0 leaves (−1, 1) at mean time 1 (E τ = 1 − x0²). Watched only at the grid points,
    # the walk exits as if the boundary were shifted out by β√dt, β = 0.5826 (Broadie, Glasserman
    # & Kou 1997): E τ ≈ (1 + β√dt)² = 1.037 at dt = 1e-3; the 5-SE band is about ±0.09
    em = EulerMaruyama(lambda x: torch.zeros_like(x), 1.0, 1e-3)
    path = integrate(em, torch.zeros(1, dtype=f64), 20_000, chains=2000, seed=3, save_every=20_000,
                     stop=FirstExit(lambda x, ids: x[:, 0].abs() >= 1, compact_every=64))
    assert not path.censored.any()
    tau = path.exit_step.to(f64) * 1e-3
    se = float(tau.std()) / math.sqrt(tau.numel())
    expected = (1 + 0.5826 * math.sqrt(1e-3)) ** 2
    assert abs(float(tau.mean()) - expected) < 5 * se, (float(tau.mean()), expected, se)


def test_horizon_is_the_default():
    em = EulerMaruyama(lambda x: -x, 1.0, 0.1)
    a = integrate(em, torch.zeros(2, dtype=f64), 20, chains=3, seed=1)
    b = integrate(em, torch.zeros(2, dtype=f64), 20, chains=3, seed=1, stop=Horizon())
    assert torch.equal(a.x, b.x) and a.exit_step is None and a.censored is None


# -- divergence ---------------------------------------------------------------------------------
class Square(Stepper):
    """x ← x + x² (+ a zero draw, so that the draws come in chunks of many steps)."""

    def draws(self, x, steps, gen):
        from sgdsde.dynamics import Increments
        return Increments("gaussian", None, x.shape, steps, x.dtype, x.device, gen)

    def step(self, x, z, k):
        return x + x * x + 0 * z


def _first_inf(x):
    k = 0
    while math.isfinite(x):
        x, k = x + x * x, k + 1
    return k


def test_divergence_raise_names_exact_step_inside_a_chunk_and_flag_freezes():
    x0 = torch.tensor([[0.05], [0.5], [0.0], [2.0]], dtype=f64)
    expected = [_first_inf(float(v)) if v != 0 else -1 for v in x0[:, 0]]
    with pytest.raises(DivergenceError) as info:
        integrate(Square(), x0, 200)
    first = min(e for e in expected if e > 0)
    assert info.value.step == first and info.value.chains == [expected.index(first)]
    assert int(info.value.trajectory.step[-1]) < first
    path = integrate(Square(), x0, 200, save_every=50, on_divergence="flag")
    assert path.diverged_step.tolist() == expected
    assert path.diverged.tolist() == [e > 0 for e in expected]
    assert bool(torch.isfinite(path.x).all())
    # frozen at the last finite state: x_{k−1} of the exact recursion
    for c, e in enumerate(expected):
        if e > 0:
            x = float(x0[c, 0])
            for _ in range(e - 1):
                x = x + x * x
            assert float(path.final[c, 0]) == x


def test_divergence_error_types_are_one_family():
    from sgdsde.sde import DivergenceError as SDEError
    assert issubclass(sgd.DivergenceError, DivergenceError) and issubclass(SDEError, sgd.DivergenceError)
    with pytest.raises(DivergenceError):
        simulate(lambda x: 10 * x**2, 0.0, torch.tensor([2.0], dtype=f64), 0.1, 50)


# -- one result type ----------------------------------------------------------------------------
def test_trajectory_is_path_and_theta_is_x(lin):
    assert sgd.Trajectory is Path
    tr = sgd.run(lin, None, 0.1, 4, 10, chains=3, record_every=5)
    assert isinstance(tr, Path) and tr.theta is tr.x and torch.equal(tr.final, tr.x[-1])
    torch.testing.assert_close(tr.t, torch.tensor([0.0, 0.5, 1.0], dtype=f64))
    sch = sgd.run(lin, None, sgd.inverse_sqrt(0.2), 4, 3, record_every=1)
    torch.testing.assert_close(sch.t[1:], torch.tensor([0.2, 0.2 / 2**0.5, 0.2 / 3**0.5], dtype=f64).cumsum(0))
    p = simulate(lambda x: -x, 1.0, torch.zeros(2), 0.1, 10, save_every=5)
    assert isinstance(p, Path) and p.theta is p.x and p.loss is None


def test_integrate_bad_arguments():
    em = EulerMaruyama(lambda x: -x, 1.0, 0.1)
    with pytest.raises(ValueError, match="on_divergence"):
        integrate(em, torch.zeros(2), 3, on_divergence="ignore")
    with pytest.raises(ValueError, match="steps"):
        integrate(em, torch.zeros(2), -1)
    with pytest.raises(ValueError, match="chains"):
        integrate(em, torch.zeros(3, 2), 3, chains=2)
    with pytest.raises(ValueError, match="x0 must have shape"):
        integrate(em, torch.zeros(1, 2, 3), 3)
    with pytest.raises(TypeError, match="outside"):
        FirstExit("x > 1")
    with pytest.raises(ValueError, match="compact_every"):
        FirstExit(lambda x, ids: x[:, 0] > 1, compact_every=0)
