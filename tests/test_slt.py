"""sgdsde.slt: the local learning coefficient (issue 17 item 2).

Known answers: Aoyagi's closed form for deep linear networks against the regular count and the
reduced-rank-regression formula of Aoyagi & Watanabe (2005); the SGLD estimator against the
exact law of its own chain on a regular (quadratic) model, against quadrature on the singular
model y = w₁w₂x, and against devinterp's SGLD as an independent oracle. Statistical checks are
at k = 5 SE (false-failure odds 5.7e-7 each, sgdsde.stats.false_failure_prob).
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch

from sgdsde import problems
from sgdsde.dynamics import SGLD, SGLDDivergenceError, integrate
from sgdsde.experiments.deep_linear import TwoLayerLinear
from sgdsde.slt import (
    default_beta,
    dln_learning_coefficient,
    estimate_llc,
    product_llc,
    quadratic_llc,
)

# tiny tensors: one thread is many times faster than two contending ones (as in test_experiments)
torch.set_num_threads(1)
K = 5.0
F64 = torch.float64


def rrr_learning_coefficient(M: int, H: int, N: int, r: int) -> Fraction:
    """Aoyagi & Watanabe (2005), reduced rank regression: input M, hidden H, output N, rank r."""
    if N + r <= M + H and M + r <= N + H and H + r <= M + N:
        s = 2 * (H + r) * (M + N) - (M - N) ** 2 - (H + r) ** 2
        return Fraction(s + (1 if (M + H + N + r) % 2 else 0), 8)
    if M + H < N + r:
        return Fraction(H * M - H * r + N * r, 2)
    if N + H < M + r:
        return Fraction(H * N - H * r + M * r, 2)
    return Fraction(M * N, 2)  # M + N < H + r


# -- Aoyagi's formula --------------------------------------------------------------------------
def test_one_layer_is_regular():
    for N in range(1, 6):
        for M in range(1, 6):
            for r in range(min(N, M) + 1):
                assert dln_learning_coefficient((N, M), r) == Fraction(N * M, 2)


def test_two_layers_match_reduced_rank_regression():
    cases = 0
    for M in range(1, 7):
        for H in range(1, 7):
            for N in range(1, 7):
                for r in range(min(M, H, N) + 1):
                    assert dln_learning_coefficient((M, H, N), r) == rrr_learning_coefficient(
                        M, H, N, r
                    ), (M, H, N, r)
                    cases += 1
    assert cases > 500


def test_scalar_chains_and_bounds():
    # y = w_L ⋯ w_1 x: λ = 1/2 at the singular point 0 and on the smooth set {Π w = c ≠ 0}
    for L in range(1, 6):
        for r in (0, 1):
            assert dln_learning_coefficient((1,) * (L + 1), r) == Fraction(1, 2)
    # λ ≤ d/2 and λ ≥ half the dimension of the rank-r matrices, rising with r
    for w in [(3, 3, 3), (4, 2, 4), (2, 3, 4, 2), (5, 2, 3, 4)]:
        d = sum(a * b for a, b in zip(w[:-1], w[1:]))
        lam = [dln_learning_coefficient(w, r) for r in range(min(w) + 1)]
        assert all(Fraction(r * (w[0] + w[-1] - r), 2) <= x <= Fraction(d, 2)
                   for r, x in enumerate(lam))
        assert all(a <= b for a, b in zip(lam, lam[1:]))


@pytest.mark.parametrize(
    "args, err, msg",
    [
        (((3,), 0), ValueError, "widths must hold >= 2"),
        (((3, 0, 2), 0), ValueError, r"widths\[1\] must be >= 1"),
        (((3, 2, 3), 3), ValueError, r"rank must be in \[0, 2\]"),
        (((3, 2, 3), -1), ValueError, "rank must be in"),
        (((3, 2.0, 3), 1), TypeError, r"widths\[1\] must be an int"),
        (("323", 1), TypeError, "widths must be a sequence"),
    ],
)
def test_aoyagi_bad_input(args, err, msg):
    with pytest.raises(err, match=msg):
        dln_learning_coefficient(*args)


# -- exact expectations ------------------------------------------------------------------------
def test_quadratic_llc_limits_and_errors():
    h = [0.5, 1.0, 4.0]
    assert quadratic_llc(h, 50.0) == pytest.approx(1.5, rel=1e-14)
    # localisation bias: factor nβh/(nβh + γ) per direction; step bias 1/(1 − εa/4)
    assert quadratic_llc([1.0], 50.0, 50.0) == pytest.approx(0.25, rel=1e-14)
    assert quadratic_llc([1.0], 50.0, 0.0, lr=0.04) == pytest.approx(0.5 / 0.5, rel=1e-14)
    with pytest.raises(ValueError, match="nbeta must be > 0"):
        quadratic_llc(h, 0.0)
    with pytest.raises(ValueError, match="localization must be >= 0"):
        quadratic_llc(h, 1.0, -1.0)
    with pytest.raises(ValueError, match="unstable"):
        quadratic_llc(h, 50.0, lr=0.02)


def test_product_llc_tends_to_one_half_slowly():
    vals = [product_llc(a, 1.0) for a in (1e2, 1e4, 1e8, 1e16)]
    assert all(x < y < 0.5 for x, y in zip(vals, vals[1:]))
    # scaling w → w/√γ: the value depends on a/γ² only
    assert product_llc(1e4, 10.0) == pytest.approx(product_llc(1e2, 1.0), rel=1e-8)
    assert 0.5 - vals[-1] < 0.03


# -- the estimator ------------------------------------------------------------------------------
def _regular(n=400, d=3, seed=0):
    p = problems.LinearRegression(*problems.gaussian_regression(n, d, noise_std=0.5, seed=seed))
    return p, p.minimizer()


def test_regular_model_matches_the_exact_law_of_the_chain():
    p, w = _regular()
    h = torch.linalg.eigvalsh(p.hessian(w))
    lr, gamma = 2e-3, 2.0
    est = estimate_llc(p, w, lr=lr, localization=gamma, chains=16, draws=150, burnin=100,
                       thin=2, seed=3)
    exact = quadratic_llc(h, est.nbeta, gamma, lr=lr)
    assert abs(est.llc - exact) <= K * est.se, (est.llc, exact, est.se)
    # the biases against λ = d/2, exactly: localisation (−) and step (+), both small here
    loc = quadratic_llc(h, est.nbeta, gamma) - 1.5
    step = exact - quadratic_llc(h, est.nbeta, gamma)
    assert -0.1 < loc < 0 < step < 0.1
    assert est.nbeta == pytest.approx(400 / math.log(400))


def test_product_model_matches_quadrature_after_richardson():
    # y = w1 w2 x with noiseless data: L_n = ½ mean(x²) (w1 w2)², λ = 1/2 (multiplicity 2)
    X = torch.linspace(-1, 1, 8, dtype=F64).reshape(-1, 1)
    p = TwoLayerLinear(1, X, torch.zeros_like(X), theta0=torch.zeros(2, dtype=F64))
    gamma, beta = 2.0, 50.0
    a = p.n * beta * float((X**2).mean()) / 2
    exact = product_llc(a, gamma)
    runs = [
        estimate_llc(p, p.theta0, lr=lr, beta=beta, localization=gamma, chains=64,
                     draws=100, burnin=burn, thin=thin, seed=s)
        for lr, burn, thin, s in ((4e-3, 800, 8, 1), (2e-3, 1600, 16, 2))
    ]
    # weak order 1: the step bias is ≈ c·ε; 2λ̂(ε/2) − λ̂(ε) removes it (Richardson)
    rich = 2 * runs[1].llc - runs[0].llc
    se = math.hypot(2 * runs[1].se, runs[0].se)
    assert abs(rich - exact) <= K * se, (rich, exact, se, [r.llc for r in runs])
    assert exact < 0.45  # this localised, tempered value is measurably below λ = 1/2


def test_divergence_and_bad_input():
    p, w = _regular(n=100)
    with pytest.raises(SGLDDivergenceError, match="SGLD diverged"):
        estimate_llc(p, w, lr=1.0, chains=2, draws=50, burnin=0)  # lr·nβh ≫ 4: explodes
    for kw, msg in [
        (dict(lr=0.0), "lr must be > 0"),
        (dict(lr=1e-3, beta=-1.0), "beta must be > 0"),
        (dict(lr=1e-3, localization=-0.1), "localization must be >= 0"),
        (dict(lr=1e-3, draws=1), "draws must be >= 2"),
        (dict(lr=1e-3, chains=1), "chains must be >= 2"),
        (dict(lr=1e-3, thin=0), "thin must be >= 1"),
        (dict(lr=1e-3, burnin=-1), "burnin must be >= 0"),
    ]:
        with pytest.raises(ValueError, match=msg):
            estimate_llc(p, w, **kw)
    with pytest.raises(ValueError, match="center must have shape"):
        estimate_llc(p, torch.zeros(5, dtype=F64), lr=1e-3)
    with pytest.raises(ValueError, match="n must be >= 2"):
        default_beta(1)


def test_nan_state_raises_the_sgld_error():
    p, w = _regular(n=50)
    s = SGLD(p, 1e-3, 10.0, center=w)
    with pytest.raises(SGLDDivergenceError, match="step 0"):
        integrate(s, torch.full((3,), float("nan"), dtype=F64), 5, chains=2)


def test_minibatch_sgld_runs_and_is_close():
    # minibatch gradients add noise of order ε·nβ²·Σ/m: with a small step the estimate stays
    # near the full-batch value (loose: this only guards the minibatch path)
    p, w = _regular(n=400)
    est = estimate_llc(p, w, lr=5e-4, localization=5.0, chains=4, draws=50, burnin=200,
                       thin=2, batch_size=20, seed=5)
    h = torch.linalg.eigvalsh(p.hessian(w))
    assert abs(est.llc - quadratic_llc(h, est.nbeta, 5.0, lr=5e-4)) < 0.3


def test_devinterp_sgld_is_an_independent_oracle():
    devinterp_optim = pytest.importorskip("devinterp.optim")
    # a singular model with a non-trivial answer: a 2-2-2 linear network at a GD-trained point
    X, Y, *_ = __import__(
        "sgdsde.experiments.deep_linear", fromlist=["whitened_teacher"]
    ).whitened_teacher(32, 2, 2, [2.0], noise_std=0.3, seed=4)
    p = TwoLayerLinear(2, X, Y, init_scale=0.5, seed=5)
    w = p.theta0.clone()
    gd = integrate(__import__("sgdsde.dynamics", fromlist=["SGD"]).SGD(p, 0.1), w, 2000)
    w = gd.final[0]
    lr, beta, gamma, chains, draws, burnin = 2e-3, default_beta(p.n), 20.0, 16, 100, 100
    ours = estimate_llc(p, w, lr=lr, beta=beta, localization=gamma, chains=chains,
                        draws=draws, burnin=burnin, seed=7)
    # devinterp: every chain is a row of one parameter; the loss is the sum over chains of
    # L_n(w_c), so each row gets its own ∇L_n, and the optimiser's update is elementwise
    torch.manual_seed(8)
    W = torch.nn.Parameter(w.expand(chains, -1).clone())
    opt = devinterp_optim.SGMCMC.sgld([W], lr=lr, nbeta=p.n * beta, localization=gamma)
    gen = torch.Generator().manual_seed(9)
    losses = []
    for k in range(burnin + draws):
        opt.zero_grad()
        p.loss(W).sum().backward()
        opt.step(noise_generator=gen)
        if k >= burnin:
            losses.append(p.loss(W.detach()))
    per_chain = p.n * beta * (torch.stack(losses).mean(0) - p.loss(w))
    theirs, se_t = float(per_chain.mean()), float(per_chain.std() / math.sqrt(chains))
    assert abs(ours.llc - theirs) <= K * math.hypot(ours.se, se_t), (ours.llc, theirs)
    assert 0.5 < ours.llc < 4.0  # between the two-parameter floor and d/2 = 4


def test_sgld_weak_order_one():
    # the SGLD stepper declares weak order 1: on L = ½w² (h = 1, nβ = 1, no localisation) the
    # stationary variance is 1/(1 − ε/4) exactly; the measured bias falls like ε¹ (slope ± 0.2)
    X = torch.ones(4, 1, dtype=F64)
    p = problems.LinearRegression(X, torch.zeros(4, dtype=F64))
    assert (SGLD.weak_order, SGLD.strong_order) == (1.0, None)
    eps = (0.8, 0.4, 0.2)
    bias = []
    for j, e in enumerate(eps):
        steps = int(80 / e)
        path = integrate(SGLD(p, e, 1.0, center=torch.zeros(1, dtype=F64), record_loss=False),
                         torch.zeros(1, dtype=F64), steps, chains=2000, seed=20 + j)
        v = path.x[steps // 4:, :, 0].pow(2).mean(0)  # per-chain time averages after burn-in
        m, se = float(v.mean()), float(v.std() / math.sqrt(v.numel()))
        exact = 1 / (1 - e / 4)
        assert abs(m - exact) <= K * se, (e, m, exact, se)
        bias.append(m - 1.0)
    slope = math.log(bias[0] / bias[-1]) / math.log(eps[0] / eps[-1])
    assert abs(slope - SGLD.weak_order) < 0.2, (bias, slope)


def test_symmetry_directions_are_null_for_sigma_everywhere_and_for_h_at_critical_points():
    from sgdsde.dynamics import SGD
    from sgdsde.experiments.deep_linear import whitened_teacher
    from sgdsde.experiments.llc_dln import kernel_residuals, symmetry_directions

    X, Y, *_ = whitened_teacher(32, 3, 3, [2.0, 1.0], noise_std=0.3, seed=1)
    net = TwoLayerLinear(2, X, Y, init_scale=0.7, seed=2)
    Xi = symmetry_directions(net, net.theta0)
    assert Xi.shape == (4, net.d)
    torch.testing.assert_close(Xi @ Xi.T, torch.eye(4, dtype=F64))
    eps = torch.finfo(F64).eps
    away = kernel_residuals(net, net.theta0)  # a generic point: only Σ_emp vanishes on Ξ
    assert away["sigma_sym"] < 100 * net.d * eps and away["hess_sym"] > 1e-3
    w = integrate(SGD(net, 0.2), net.theta0, 600).final[0]
    at_min = kernel_residuals(net, w)
    assert at_min["grad"] < 1e-10
    assert at_min["hess_sym"] < 1e-8 and at_min["ker_dim"] == 4
    assert at_min["sigma_on_ker"] < 100 * net.d * eps
