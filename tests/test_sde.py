"""Tests for sgdsde.sde: Euler–Maruyama, SGD's SDE, Ornstein–Uhlenbeck.

Statistical checks are seeded; tolerance 5 standard errors (two-sided normal false-failure odds
5.7e-7 per check, `sgdsde.stats.false_failure_prob`). Euler–Maruyama biases are O(dt) and chosen
well below the 5-SE band where a test compares against exact (continuous-time) moments.
"""
import math

import numpy as np
import pytest
import torch

from sgdsde.levy import symmetric_stable
from sgdsde.problems import LinearRegression, digits_mlp, gaussian_regression
from sgdsde.sde import (
    DivergenceError,
    OrnsteinUhlenbeck,
    Path,
    _hvp_grad,
    _normal_,
    sgd_sde,
    simulate,
)
from sgdsde.stats import assert_within_se, cov_se, mean_se

f64 = torch.float64
A2 = torch.tensor([[1.0, 0.8], [-0.4, 2.0]], dtype=f64)          # non-normal, anisotropic
D2 = torch.tensor([[0.8, 0.3], [0.3, 0.4]], dtype=f64)


# -- Ornstein–Uhlenbeck closed forms ------------------------------------------------------------
def test_ou_lyapunov_and_cov_against_quadrature():
    ou = OrnsteinUhlenbeck(A2, D2)
    S = ou.stationary_cov()
    assert torch.allclose(A2 @ S + S @ A2.T, 2 * D2, atol=1e-12)
    # cov(t) = ∫_0^t e^{-As} 2D e^{-Aᵀs} ds by Simpson's rule (independent of the Lyapunov route)
    t = 0.7
    s = torch.linspace(0, t, 2001, dtype=f64)
    E = torch.linalg.matrix_exp(-A2 * s[:, None, None])
    integrand = (E @ (2 * D2) @ E.mT).numpy()
    from scipy.integrate import simpson
    C = simpson(integrand, x=s.numpy(), axis=0)
    assert np.allclose(ou.cov(t).numpy(), C, atol=1e-10)
    cov0 = torch.tensor([[0.5, 0.1], [0.1, 0.2]], dtype=f64)
    Et = torch.linalg.matrix_exp(-A2 * t)
    assert torch.allclose(ou.cov(t, cov0), torch.as_tensor(C) + Et @ cov0 @ Et.T, atol=1e-10)
    assert torch.allclose(ou.cov(50.0), S, atol=1e-12)
    x0 = torch.tensor([1.0, -2.0], dtype=f64)
    assert torch.allclose(ou.mean(x0, t), Et @ x0)
    assert ou.mean(x0, torch.tensor([0.0, 0.5, 1.0], dtype=f64)).shape == (3, 2)


def test_ou_stationary_current_solves_fokker_planck():
    # j = -A x p - D ∇p (the OU current), computed by autograd, equals (-A + D S^-1) x p
    ou = OrnsteinUhlenbeck(A2, D2)
    x = torch.randn(50, 2, dtype=f64, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    p = ou.stationary_density(x)
    (gp,) = torch.autograd.grad(p.sum(), x)
    j_fp = -(x @ A2.T) * p[:, None] - gp @ D2.T
    assert torch.allclose(ou.stationary_current(x.detach()), j_fp.detach(), atol=1e-14)
    # divergence-free: ∇·j = 0 at every x (stationarity), by autograd
    xx = x.detach().requires_grad_(True)
    j = ou.stationary_current(xx)
    div = sum(torch.autograd.grad(j[:, i].sum(), xx, create_graph=True)[0][:, i] for i in range(2))
    assert float(div.detach().abs().max()) < 1e-13


def test_ou_detailed_balance():
    sym = torch.tensor([[2.0, 0.7], [0.7, 1.0]], dtype=f64)
    assert OrnsteinUhlenbeck(sym, torch.eye(2, dtype=f64)).detailed_balance()
    assert OrnsteinUhlenbeck(sym, 0.3 * sym).detailed_balance()       # D ∝ A also commutes
    ou = OrnsteinUhlenbeck(torch.diag(torch.tensor([1.0, 3.0], dtype=f64)),
                           torch.tensor([[1.0, 0.5], [0.5, 1.0]], dtype=f64))
    assert not ou.detailed_balance()
    assert float(ou.current_matrix().abs().max()) > 0.1
    assert not OrnsteinUhlenbeck(A2, D2).detailed_balance()


def test_ou_exact_sampling_moments():
    ou = OrnsteinUhlenbeck(A2, D2)
    x0 = torch.tensor([1.0, -1.0], dtype=f64)
    xs = ou.sample(x0, 0.6, chains=20_000, generator=torch.Generator().manual_seed(1))
    m, se = mean_se(xs)
    assert_within_se(m, ou.mean(x0, 0.6), se, what="OU exact-sample mean")
    C, cse = cov_se(xs)
    assert_within_se(C, ou.cov(0.6), cse, what="OU exact-sample cov")


def test_ou_bad_input():
    with pytest.raises(ValueError, match="square"):
        OrnsteinUhlenbeck(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="symmetric"):
        OrnsteinUhlenbeck(torch.eye(2), torch.tensor([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="positive semi-definite"):
        OrnsteinUhlenbeck(torch.eye(2), -torch.eye(2))
    with pytest.raises(ValueError, match="positive real part"):
        OrnsteinUhlenbeck(-torch.eye(2), torch.eye(2)).stationary_cov()


# -- Euler–Maruyama against the OU ------------------------------------------------------------
def test_em_1d_ou_transient_and_stationary_within_5se():
    theta, D, x0 = 1.5, 0.5, 2.0
    dt, T1, T2 = 0.004, 1.0, 6.0
    p = simulate(lambda x: -theta * x, lambda x: math.sqrt(2 * D) * torch.ones_like(x),
                 torch.tensor([x0], dtype=f64), dt, int(T2 / dt), chains=20_000, seed=1,
                 save_every=int(T1 / dt))
    # EM bias of the variance is ≈ theta*dt/2 = 0.3 % relative, SE ≈ 1 %
    for T, xT in ((T1, p.x[1, :, 0]), (T2, p.x[-1, :, 0])):
        assert math.isclose(float(p.t[1 if T == T1 else -1]), T)
        m, se = mean_se(xT)
        assert_within_se(m, x0 * math.exp(-theta * T), se, what=f"1-D OU mean at T={T}")
        v = float(xT.var())
        v_exact = D / theta * (1 - math.exp(-2 * theta * T))
        v_se = float(((xT - xT.mean()) ** 2).std()) / math.sqrt(xT.numel())
        assert_within_se(v, v_exact, v_se, what=f"1-D OU variance at T={T}")


@pytest.mark.parametrize("form", ["constant", "callable_expanded", "callable_per_chain"])
def test_em_2d_anisotropic_ou_within_5se(form):
    ou = OrnsteinUhlenbeck(A2, D2)
    sig = ou.sigma
    C = 10_000
    diffusion = {"constant": sig,
                 "callable_expanded": lambda x: sig.expand(x.shape[0], 2, 2),
                 "callable_per_chain": lambda x: sig.repeat(x.shape[0], 1, 1)}[form]
    x0 = torch.tensor([1.0, -1.0], dtype=f64)
    dt = 0.004
    p = simulate(ou.drift, diffusion, x0, dt, 1000, chains=C, seed=2, save_every=250)
    for idx, T in ((1, 1.0), (-1, 4.0)):   # A's eigenvalues have real part 1.5: T = 4 is stationary
        xT = p.x[idx]
        m, se = mean_se(xT)
        assert_within_se(m, ou.mean(x0, T), se, what=f"2-D OU mean at T={T}")
        S, sse = cov_se(xT)
        assert_within_se(S, ou.cov(T), sse, what=f"2-D OU cov at T={T}")


def test_noise_forms_agree_pathwise():
    ou = OrnsteinUhlenbeck(A2, D2)
    sig = ou.sigma
    z = torch.randn(50, 7, 2, dtype=f64, generator=torch.Generator().manual_seed(3))
    x0 = torch.ones(2, dtype=f64)
    ref = simulate(ou.drift, sig, x0, 0.01, 50, chains=7, increments=z).x
    for diff in (lambda x: sig.expand(7, 2, 2), lambda x: sig.repeat(7, 1, 1)):
        assert torch.allclose(simulate(ou.drift, diff, x0, 0.01, 50, chains=7, increments=z).x, ref,
                              atol=1e-13)
    # by hand
    x = x0.expand(7, 2).clone()
    for k in range(50):
        x = x - 0.01 * x @ A2.T + 0.1 * z[k] @ sig.T
    assert torch.allclose(ref[-1], x, atol=1e-13)
    # diagonal: constant (d,), scalar and callable give the same path
    zd = z
    a = simulate(lambda x: -x, torch.tensor([0.5, 0.5], dtype=f64), x0, 0.01, 50, chains=7, increments=zd).x
    b = simulate(lambda x: -x, torch.tensor(0.5, dtype=f64), x0, 0.01, 50, chains=7, increments=zd).x
    c = simulate(lambda x: -x, lambda x: 0.5 * torch.ones_like(x), x0, 0.01, 50, chains=7, increments=zd).x
    assert torch.allclose(a, b) and torch.allclose(a, c)


def test_agrees_with_torchsde_pathwise_and_in_law():
    torchsde = pytest.importorskip("torchsde")
    ou = OrnsteinUhlenbeck(A2, D2)
    sig = ou.sigma
    C, dt, steps = 2000, 2.0 ** -7, 128

    class OU(torch.nn.Module):
        noise_type, sde_type = "general", "ito"

        def f(self, t, y):
            return ou.drift(y)

        def g(self, t, y):
            return sig.expand(y.shape[0], 2, 2)

    x0 = torch.tensor([1.0, -1.0], dtype=f64).expand(C, 2).contiguous()
    bm = torchsde.BrownianInterval(t0=0.0, t1=steps * dt, size=(C, 2), dtype=f64, entropy=5)
    ts = torch.tensor([0.0, steps * dt], dtype=f64)
    ys = torchsde.sdeint(OU(), x0, ts, method="euler", dt=dt, bm=bm)
    # same Brownian increments → same Euler–Maruyama path (to rounding)
    z = torch.stack([bm(k * dt, (k + 1) * dt) for k in range(steps)]) / math.sqrt(dt)
    ours = simulate(ou.drift, sig, x0, dt, steps, increments=z, save_every=steps)
    assert torch.allclose(ours.x[-1], ys[-1], atol=1e-12)
    # in law, with independent noise: two-sample comparison of mean and covariance at T = 1
    ind = simulate(ou.drift, sig, x0, dt, steps, seed=9, save_every=steps).x[-1]
    m1, s1 = mean_se(ind)
    m2, s2 = mean_se(ys[-1])
    assert_within_se(m1 - m2, 0.0, torch.sqrt(s1**2 + s2**2), what="ours vs torchsde mean")
    c1, e1 = cov_se(ind)
    c2, e2 = cov_se(ys[-1])
    assert_within_se(c1 - c2, 0.0, torch.sqrt(e1**2 + e2**2), what="ours vs torchsde cov")


# -- convergence orders (GBM, exact solution, common random numbers) --------------------------
def _gbm_errors():
    mu, sig, T, N, K = 0.5, 0.5, 1.0, 50_000, 7
    zf = torch.randn(2**K, N, 1, dtype=f64, generator=torch.Generator().manual_seed(4))
    X = torch.exp((mu - sig**2 / 2) * T + sig * zf.sum(0) * math.sqrt(T / 2**K))  # exact X_T
    hs, strong, weak, weak_se = [], [], [], []
    for k in range(3, K + 1):
        n, r = 2**k, 2 ** (K - k)
        z = zf.reshape(n, r, N, 1).sum(1) / math.sqrt(r)          # the same Brownian path, coarser
        Xh = simulate(lambda x: mu * x, lambda x: sig * x, torch.ones(1, dtype=f64), T / n, n,
                      chains=N, increments=z, save_every=n).x[-1]
        hs.append(T / n)
        strong.append(float((Xh - X).abs().mean()))
        dlt = Xh**2 - X**2                                          # weak error of f(x) = x²
        weak.append(float(dlt.mean()))
        weak_se.append(float(dlt.std()) / math.sqrt(N))
    return np.array(hs), np.array(strong), np.array(weak), np.array(weak_se)


def test_euler_maruyama_strong_order_half_and_weak_order_one():
    hs, strong, weak, weak_se = _gbm_errors()
    assert np.all(np.abs(weak) > 5 * weak_se)           # every weak error is resolved
    s_slope = np.polyfit(np.log(hs), np.log(strong), 1)[0]
    w_slope = np.polyfit(np.log(hs), np.log(np.abs(weak)), 1)[0]
    assert abs(s_slope - 0.5) < 0.2, s_slope
    assert abs(w_slope - 1.0) < 0.2, w_slope
    # the EM weak error of x² for GBM is known exactly: E X_h² = ((1+μh)² + σ²h)^(T/h)
    mu, sig = 0.5, 0.5
    exact = np.array([((1 + mu * h) ** 2 + sig**2 * h) ** (1 / h) - math.exp(2 * mu + sig**2) for h in hs])
    assert np.all(np.abs(weak - exact) <= 5 * weak_se)


# -- alpha-stable driving noise --------------------------------------------------------------
def test_alpha_stable_increments_scale_as_dt_power():
    from scipy import stats
    alpha, dt, steps = 1.5, 0.01, 100
    p = simulate(lambda x: torch.zeros_like(x), lambda x: torch.ones_like(x), torch.zeros(1, dtype=f64),
                 dt, steps, noise="alpha_stable", alpha=alpha, chains=1500, seed=6, save_every=steps)
    # L_T with T = 1 is S_alpha with scale T^(1/alpha) = 1
    assert stats.kstest(p.x[-1, :, 0].numpy(), stats.levy_stable(alpha, 0.0).cdf).pvalue > 1e-6
    # alpha = 2 is sqrt(2) W: variance 2T
    q = simulate(lambda x: torch.zeros_like(x), lambda x: torch.ones_like(x), torch.zeros(1, dtype=f64),
                 dt, steps, noise="alpha_stable", alpha=2.0, chains=20_000, seed=6, save_every=steps)
    v = q.x[-1, :, 0]
    assert_within_se(float(v.var()), 2.0, float(((v - v.mean()) ** 2).std()) / math.sqrt(v.numel()))


# -- SGD's SDE ---------------------------------------------------------------------------------
def small_problem(n=40, d=3, seed=0):
    return LinearRegression(*gaussian_regression(n, d, seed=seed, noise_std=0.5))


@pytest.mark.parametrize("sampling", ["with_replacement", "without_replacement", "reshuffle"])
def test_sgd_sde_one_step_covariance_within_5se(sampling):
    # the exact covariance factor of one batch of each scheme: 1 with replacement, (n−B)/(n−1) for a
    # uniform B-subset (without replacement, and one batch of a reshuffled epoch, which is one too)
    p = small_problem()
    th = torch.tensor([0.3, -0.2, 0.5], dtype=f64)
    eta, B, C = 0.2, 8, 40_000
    path = sgd_sde(p, th, eta, B, 1, sampling=sampling, chains=C, seed=3)
    g = p.grad(th)
    incr = path.x[1] - (th - eta * g)                      # dt = eta: the noise part of one step
    c = 1.0 if sampling == "with_replacement" else (p.n - B) / (p.n - 1)
    G = p.per_sample_grads(th)
    Sigma = (G - g).T @ (G - g) / p.n                       # Σ_emp computed here independently
    m, se = mean_se(incr)
    assert_within_se(m, 0.0, se, what="SDE step noise mean")
    S, sse = cov_se(incr)
    assert_within_se(S, eta * eta * c / B * Sigma, sse, what=f"SDE step cov ({sampling})")


def test_sgd_sde_alpha2_matches_gaussian_and_alpha_scale_matching():
    p = small_problem()
    th = torch.tensor([0.3, -0.2, 0.5], dtype=f64)
    eta, B, C = 0.2, 8, 40_000
    g = p.grad(th)
    G = p.per_sample_grads(th)
    F = (G - g) / math.sqrt(p.n)
    # alpha = 2: same law as the Gaussian step, covariance eta² Σ/B
    inc = sgd_sde(p, th, eta, B, 1, noise="alpha_stable", alpha=2.0, chains=C, seed=4).x[1] - (th - eta * g)
    S, sse = cov_se(inc)
    assert_within_se(S, eta**2 / B * F.T @ F, sse, what="alpha=2 step cov")
    # alpha = 1.5, dt = eta: increment = eta sqrt(1/B) Fᵀz, z_i ~ S_alpha(2^-1/2); a projection
    # uᵀ·increment is S_alpha with scale eta/sqrt(2B) ‖F u‖_alpha: check its characteristic function
    alpha = 1.5
    inc = sgd_sde(p, th, eta, B, 1, noise="alpha_stable", alpha=alpha, chains=C, seed=5).x[1] - (th - eta * g)
    u = torch.tensor([1.0, -0.5, 0.25], dtype=f64)
    proj = inc @ u
    scale = eta / math.sqrt(2 * B) * float(((F @ u).abs() ** alpha).sum() ** (1 / alpha))
    for w in (0.5 / scale, 1.0 / scale, 2.0 / scale):
        c = torch.cos(w * proj)
        assert_within_se(float(c.mean()), math.exp(-(scale * w) ** alpha), float(c.std()) / math.sqrt(C),
                         what="alpha-stable projected characteristic function")


def test_sgd_sde_order2_drift_is_exact_gradient_of_grad_norm():
    # B = n without replacement: c = 0, no noise, one step = θ − dt (g + (η/2) H g)
    p = small_problem()
    th = torch.tensor([[0.3, -0.2, 0.5], [1.0, 0.0, -1.0]], dtype=f64)
    eta, dt = 0.3, 0.05
    path = sgd_sde(p, th, eta, p.n, 1, dt=dt, sampling="without_replacement", order=2)
    H = p.X.T @ p.X / p.n
    g = p.grad(th)
    assert torch.allclose(path.x[1], th - dt * (g + eta / 2 * g @ H.T), atol=1e-14)
    # and order 1 is plain gradient flow Euler
    path1 = sgd_sde(p, th, eta, p.n, 1, dt=dt, sampling="without_replacement", order=1)
    assert torch.allclose(path1.x[1], th - dt * g, atol=1e-14)


def test_sgd_sde_alpha_stable_time_scaling_with_dt_not_eta():
    # dt ≠ η: the increment is dt^{1/α} η^{1−1/α} √(1/B) Fᵀz (the stable time scaling), not the
    # Gaussian √(dt η); the two coincide only at dt = η. Absolute check of the projected
    # characteristic function E cos(w uᵀΔ) = exp(−(scale·w)^α), 5 SE (false-failure odds 5.7e-7 each).
    p = small_problem()
    th = torch.tensor([0.3, -0.2, 0.5], dtype=f64)
    eta, dt, B, C, alpha = 0.2, 0.05, 8, 40_000, 1.5
    g = p.grad(th)
    F = (p.per_sample_grads(th) - g) / math.sqrt(p.n)
    inc = sgd_sde(p, th, eta, B, 1, dt=dt, noise="alpha_stable", alpha=alpha, chains=C,
                  seed=7).x[1] - (th - dt * g)
    u = torch.tensor([1.0, -0.5, 0.25], dtype=f64)
    proj = inc @ u
    norm_a = float(((F @ u).abs() ** alpha).sum() ** (1 / alpha))
    scale = dt ** (1 / alpha) * eta ** (1 - 1 / alpha) / math.sqrt(2 * B) * norm_a
    gauss_scale = math.sqrt(dt * eta) / math.sqrt(2 * B) * norm_a       # the wrong (Gaussian) one
    power = []
    for w in (0.5 / scale, 1.0 / scale, 2.0 / scale):
        c = torch.cos(w * proj)
        se = float(c.std()) / math.sqrt(C)
        assert_within_se(float(c.mean()), math.exp(-(scale * w) ** alpha), se,
                         what="alpha-stable step, dt != eta: characteristic function")
        power.append(abs(math.exp(-(gauss_scale * w) ** alpha) - math.exp(-(scale * w) ** alpha)) / se)
    # the check has power: with the Gaussian scaling some point would be off by > 20 SE
    assert max(power) > 20, power


def test_hvp_by_double_backward_matches_hessian_on_a_network():
    m = digits_mlp((2,), n=20, dtype=f64)
    th = m.theta0 + 0.1 * torch.randn(2, m.d, dtype=f64, generator=torch.Generator().manual_seed(0))
    g, hg = _hvp_grad(m, th)
    H = m.hessian(th)
    assert torch.allclose(hg, (H @ g.unsqueeze(-1)).squeeze(-1), atol=1e-12)
    assert torch.allclose(g, m.grad(th), atol=1e-14)


def test_sgd_sde_order2_closer_to_sgd_than_order1():
    from sgdsde.sgd import run
    g = torch.Generator().manual_seed(0)
    n, d = 32, 2
    X = torch.randn(n, d, generator=g, dtype=f64) * torch.tensor([1.0, 0.5], dtype=f64)
    y = X @ torch.tensor([1.0, -1.0], dtype=f64) + 0.3 * torch.randn(n, generator=g, dtype=f64)
    p = LinearRegression(X, y)
    eta = 0.5 / float(torch.linalg.eigvalsh(X.T @ X / n).max())   # η λ_max = 0.5: the correction matters
    theta0 = torch.tensor([3.0, 3.0], dtype=f64)
    k, B, C, r = 6, 16, 4000, 8
    # E[θ_k] of SGD equals the GD iterate exactly (the minibatch gradient is unbiased and linear
    # in θ); check that on an SGD ensemble, then use the exact value as the reference
    gd = theta0.clone()
    for _ in range(k):
        gd = gd - eta * p.grad(gd)
    ms, ses = mean_se(run(p, theta0, eta, B, k, chains=C, seed=1, record_every=k).theta[-1])
    assert_within_se(ms, gd, ses, what="SGD ensemble mean vs GD")
    errs, se_ = [], []
    for order in (1, 2):   # the SDE solved finely (dt = η/8) up to t = kη
        x = sgd_sde(p, theta0, eta, B, k * r, dt=eta / r, order=order, chains=C, seed=2,
                    save_every=k * r).x[-1]
        m, se = mean_se(x)
        errs.append(float((m - gd).norm()))
        se_.append(float(se.norm()))
    # weak error of E[θ_k]: order 2 is smaller, by more than 5 SE of each estimate
    assert errs[0] - errs[1] > 5 * (se_[0] + se_[1]), (errs, se_)


# -- API, shapes, reproducibility, bad input --------------------------------------------------
def test_path_shapes_times_and_reproducibility():
    x0 = torch.zeros(3, dtype=torch.float32)
    p = simulate(lambda x: -x, lambda x: torch.ones_like(x), x0, 0.1, 10, chains=5, save_every=4, seed=1)
    assert isinstance(p, Path)
    assert p.x.shape == (4, 5, 3) and p.x.dtype == torch.float32
    assert p.step.tolist() == [0, 4, 8, 10]
    assert torch.allclose(p.t, torch.tensor([0.0, 0.4, 0.8, 1.0]))
    q = simulate(lambda x: -x, lambda x: torch.ones_like(x), x0, 0.1, 10, chains=5, save_every=4, seed=1)
    assert torch.equal(p.x, q.x)
    r = simulate(lambda x: -x, lambda x: torch.ones_like(x), x0, 0.1, 10, chains=5, save_every=4, seed=2)
    assert not torch.equal(p.x, r.x)
    assert not p.diverged.any() and (p.diverged_step == -1).all()
    z = simulate(lambda x: -x, lambda x: torch.ones_like(x), x0, 0.1, 0, chains=5)
    assert z.x.shape == (1, 5, 3)
    # x0 given per chain
    w = simulate(lambda x: -x, 1.0, torch.zeros(6, 2), 0.1, 3)
    assert w.x.shape == (4, 6, 2)


def test_box_muller_normals_are_standard_normal():
    from scipy import stats
    b = torch.empty(200_001, dtype=f64)
    _normal_(b, torch.Generator().manual_seed(0))
    assert stats.kstest(b.numpy(), "norm").pvalue > 1e-6
    assert stats.kstest(b[:100_000].numpy(), "norm").pvalue > 1e-6       # cos half
    assert stats.kstest(b[100_001:].numpy(), "norm").pvalue > 1e-6       # sin half
    m, se = mean_se(b[:100_000] * b[100_001:])                          # independent halves
    assert_within_se(m, 0.0, se)


@pytest.mark.parametrize("alpha", [0.0, -0.5, 2.01, float("nan")])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        simulate(lambda x: -x, 1.0, torch.zeros(2), 0.1, 5, noise="alpha_stable", alpha=alpha)
    with pytest.raises(ValueError, match="alpha"):
        sgd_sde(small_problem(), torch.zeros(3, dtype=f64), 0.1, 4, 2, noise="alpha_stable", alpha=alpha)


def test_bad_arguments():
    f, g, x0 = (lambda x: -x), 1.0, torch.zeros(2)
    for dt in (0.0, -0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="dt"):
            simulate(f, g, x0, dt, 5)
    with pytest.raises(ValueError, match="steps"):
        simulate(f, g, x0, 0.1, -1)
    with pytest.raises(TypeError, match="steps"):
        simulate(f, g, x0, 0.1, 2.5)
    with pytest.raises(ValueError, match="noise"):
        simulate(f, g, x0, 0.1, 5, noise="cauchy")
    with pytest.raises(ValueError, match="alpha_stable"):
        simulate(f, g, x0, 0.1, 5, alpha=1.5)
    with pytest.raises(ValueError, match="needs alpha"):
        simulate(f, g, x0, 0.1, 5, noise="alpha_stable")
    with pytest.raises(ValueError, match="chains"):
        simulate(f, g, torch.zeros(3, 2), 0.1, 5, chains=4)
    with pytest.raises(ValueError, match="x0 must be finite"):
        simulate(f, g, torch.tensor([0.0, float("nan")]), 0.1, 5)
    with pytest.raises(ValueError, match="increments"):
        simulate(f, g, x0, 0.1, 5, increments=torch.zeros(4, 1, 2))
    with pytest.raises(ValueError, match="on_divergence"):
        simulate(f, g, x0, 0.1, 5, on_divergence="ignore")
    p = small_problem()
    with pytest.raises(ValueError, match="lr"):
        sgd_sde(p, p.theta0, 0.0, 4, 2)
    with pytest.raises(ValueError, match="batch_size"):
        sgd_sde(p, p.theta0, 0.1, 0, 2)
    with pytest.raises(ValueError, match="batch_size"):
        sgd_sde(p, p.theta0, 0.1, p.n + 1, 2, sampling="without_replacement")
    with pytest.raises(ValueError, match="order"):
        sgd_sde(p, p.theta0, 0.1, 4, 2, order=3)
    with pytest.raises(ValueError, match="sampling"):
        sgd_sde(p, p.theta0, 0.1, 4, 2, sampling="cyclic")
    with pytest.raises(ValueError, match="dt"):
        sgd_sde(p, p.theta0, 0.1, 4, 2, dt=-1.0)


def test_wrong_shapes_from_drift_and_diffusion_name_the_culprit():
    x0 = torch.zeros(2)
    with pytest.raises(ValueError, match=r"drift\(x\) returned shape \(1, 3\)"):
        simulate(lambda x: torch.zeros(1, 3), 1.0, x0, 0.1, 5)
    with pytest.raises(ValueError, match=r"diffusion\(x\) must return"):
        simulate(lambda x: -x, lambda x: torch.ones(1, 3), x0, 0.1, 5)
    with pytest.raises(TypeError, match="dtype"):
        simulate(lambda x: -x.double(), 1.0, x0, 0.1, 5)
    with pytest.raises(ValueError, match="constant diffusion"):
        simulate(lambda x: -x, torch.ones(3, 3), x0, 0.1, 5)
    # a shape change in the middle of a run is caught with its step
    calls = [0]

    def drift(x):
        calls[0] += 1
        return -x if calls[0] < 5 else torch.zeros(x.shape[0], 5)

    with pytest.raises(ValueError, match=r"drift\(x\) returned shape \(1, 5\).*\(step 3\)"):
        simulate(drift, 1.0, x0, 0.1, 10)


def test_divergence_names_the_exact_step_and_flag_freezes():
    x0 = torch.tensor([[1.0], [0.1], [2.0]], dtype=f64)
    drift, diff = (lambda x: 10 * x**2), (lambda x: torch.zeros_like(x))
    expected = []
    for c in range(3):                       # the first non-finite step of x ← x + 0.1·10x²
        x, k = float(x0[c, 0]), 0
        while math.isfinite(x):
            x, k = x + x * x, k + 1
        expected.append(k)
    with pytest.raises(DivergenceError, match=rf"step {min(expected)} .*\[2\]") as info:
        simulate(drift, diff, x0, 0.1, 50)
    assert info.value.step == min(expected) and info.value.chains == [2]
    from sgdsde.sgd import DivergenceError as SGDDivergenceError
    assert isinstance(info.value, SGDDivergenceError)
    p = simulate(drift, diff, x0, 0.1, 50, on_divergence="flag")
    assert p.diverged.all() and p.diverged_step.tolist() == expected
    assert bool(torch.isfinite(p.x).all())                        # frozen at the last finite state
    for c in range(3):
        assert torch.equal(p.x[expected[c] - 1, c], p.x[-1, c])
    # sgd_sde reports divergence too (lr far above 2/λ_max)
    pr = small_problem()
    with pytest.raises(DivergenceError, match="step"):
        sgd_sde(pr, pr.theta0 + 1, 50.0, 4, 400)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_runs_and_graph_path_matches_eager():
    dev = torch.device("cuda")
    A = torch.eye(4, device=dev) + 0.1
    x0 = torch.ones(4, device=dev)
    drift, diff = (lambda x: -x @ A.T), (lambda x: torch.ones_like(x))
    for save_every in (1, 10, 50, 200):   # chunk of 200 steps: the same random stream both ways
        kw = dict(chains=256, seed=3, save_every=save_every)
        a = simulate(drift, diff, x0, 0.01, 200, **kw)
        b = simulate(drift, diff, x0, 0.01, 200, cuda_graph=True, **kw)
        assert a.x.device.type == "cuda" and a.x.shape == b.x.shape
        assert torch.equal(a.step, b.step) and torch.allclose(a.x, b.x, atol=1e-5)
    for save_every, steps in ((7, 200), (1000, 3000), (64, 1000)):   # other chunkings: shapes, law
        b = simulate(drift, diff, x0, 0.01, steps, cuda_graph=True, chains=4096, seed=1,
                     save_every=save_every)
        a = simulate(drift, diff, x0, 0.01, steps, chains=4096, seed=2, save_every=save_every)
        assert torch.equal(a.step.cpu(), b.step.cpu()) and bool(torch.isfinite(b.x).all())
        m1, s1 = mean_se(a.x[-1].double().cpu())
        m2, s2 = mean_se(b.x[-1].double().cpu())
        assert_within_se(m1 - m2, 0.0, torch.sqrt(s1**2 + s2**2), what="graph vs eager mean")
    # divergence is caught in graph mode too, with the exact step
    with pytest.raises(DivergenceError, match="step 10 "):
        simulate(lambda x: 10 * x**2, lambda x: torch.zeros_like(x), torch.tensor([2.0], device=dev,
                 dtype=torch.float64), 0.1, 50, cuda_graph=True)
    # the other engines follow the device
    s = symmetric_stable(1.5, (1000,), generator=torch.Generator(device=dev).manual_seed(0), device=dev)
    assert s.device.type == "cuda" and bool(torch.isfinite(s).all())
    X, y = gaussian_regression(50, 3, seed=0, device=dev)
    p = LinearRegression(X, y)
    for order in (1, 2):
        path = sgd_sde(p, p.theta0, 0.1, 5, 20, chains=8, order=order)
        assert path.x.device.type == "cuda" and bool(torch.isfinite(path.x).all())
    ou = OrnsteinUhlenbeck(A2.to(dev), D2.to(dev))
    assert ou.sample(torch.zeros(2, device=dev, dtype=f64), 0.5, chains=4,
                     generator=torch.Generator(device=dev)).device.type == "cuda"
