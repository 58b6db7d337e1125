"""Each assumption of notes §2.3 measured as an impact on the least-squares yardstick."""

from __future__ import annotations

import math

import torch

from ... import linear_theory as lt
from ...problems import LinearRegression
from ...sampling import Reshuffle, WithoutReplacement
from ..record import Record, Timer, make_record, resolve_device
from ._yardstick import Config, Impact, Yardstick, ar1_features, stationary_loss, yardstick


def impact_gaussian(ys: Yardstick, cfg: Config) -> Impact:
    """Non-Gaussian batch noise (Lindeberg row): SGD (Monte Carlo) against the exact SGD value.

    Only second moments of the batch enter the stationary second moment of least squares, so the
    exact value is also that of Gaussian noise of the same covariance; the deviation of the Monte
    Carlo mean is the impact (seed offset 1). ``details``: ``mc``, ``se`` (absolute).

    Examples
    --------
    >>> cfg = Config(n_data=224, chains=16, steps=200, burn=50)
    >>> imp = impact_gaussian(yardstick(cfg), cfg)
    >>> abs(imp.value) < 6 * imp.se
    True
    """
    m, se, _ = stationary_loss(
        ys.lin,
        ys.theta_hat,
        ys.ops.H,
        ys.eta_ref,
        cfg.batch_size,
        cfg.steps,
        cfg.burn,
        chains=cfg.chains,
        seed=cfg.seed + 1,
    )
    ex = ys.exact["sgd"]
    return Impact(
        float(m) / ex - 1,
        float(se) / ex,
        "real vs Gaussian noise, stationary loss (lin)",
        {"mc": float(m), "se": float(se)},
    )


def impact_finite_variance(ys: Yardstick | None = None, cfg: Config | None = None) -> Impact:
    """Finite variance holds exactly on a finite data set: impact 0.

    Examples
    --------
    >>> impact_finite_variance().value
    0.0
    """
    return Impact(0.0, 0.0, "holds exactly on a finite data set")


def impact_iid(ys: Yardstick, cfg: Config) -> Impact:
    """i.i.d. data: SGD on strongly dependent AR(1) data (ρ = 0.99) against the exact theory given D_n.

    The exact target is the expectation of the Monte Carlo time average (the moment recursion from
    θ̂, burn-in discarded). Seed offsets 8 (data) and 9 (batches). ``details``: ``lag1``, ``mc``,
    ``se``, ``exact``.

    Examples
    --------
    >>> cfg = Config(n_data=224, chains=16, steps=200, burn=50)
    >>> imp = impact_iid(yardstick(cfg), cfg)
    >>> abs(imp.value) < 6 * imp.se and imp.details["lag1"] > 0.9
    True
    """
    n, d = ys.lin.n, ys.lin.d
    gen = torch.Generator().manual_seed(cfg.seed + 8)
    Xar, e = ar1_features(n, d, 0.99, gen)
    dev = ys.X.device
    Xar = Xar.to(dev)
    lin_ar = LinearRegression(Xar, Xar.sum(1) / math.sqrt(d) + e.to(dev))
    lag1 = float((Xar[1:] * Xar[:-1]).sum() / (Xar * Xar).sum())
    th = lin_ar.minimizer()
    ops = lt.moment_operators(lin_ar, th)
    eta = 0.5 * lt.sgd_stability_edge(ops, cfg.batch_size)
    path = lt.sgd_moment_path(ops, [eta] * cfg.steps, cfg.batch_size)
    ex = [lt.excess_loss(ops, M) for M in path][cfg.burn :]
    exact = sum(ex) / len(ex)
    m, se, _ = stationary_loss(
        lin_ar,
        th,
        ops.H,
        eta,
        cfg.batch_size,
        cfg.steps,
        cfg.burn,
        chains=cfg.chains,
        seed=cfg.seed + 9,
    )
    return Impact(
        float(m) / exact - 1,
        float(se) / exact,
        "AR(1) data (ρ = 0.99), stationary loss",
        {"lag1": lag1, "mc": float(m), "se": float(se), "exact": exact},
    )


def impact_finite_population(ys: Yardstick, cfg: Config) -> Impact:
    """B ≪ n: the SDE without the factor (n−B)/(n−1) against sampling without replacement (exact).

    Examples
    --------
    >>> cfg = Config(n_data=224)
    >>> 0 < impact_finite_population(yardstick(cfg), cfg).value < 1
    True
    """
    o, B = ys.ops, cfg.batch_size
    c = WithoutReplacement(ys.lin.n, B).cov_factor()
    ex1, exc = (
        lt.excess_loss(o, lt.stationary_moment_sgd(o, ys.eta_ref, B, cc)) for cc in (1.0, c)
    )
    return Impact(ex1 / exc - 1, 0.0, "without replacement, SDE without (n−B)/(n−1), exact")


def impact_schedule(ys: Yardstick, cfg: Config) -> Impact:
    """η_k constant: SGD with η₀/√(k+1) against (23) with η₀, excess loss at step ``sched_steps``.

    Exact: SGD's moment recursion, the time-changed SDE and the constant-η SDE
    (:func:`sgdsde.linear_theory.sde_moment_path`). ``details``: ``tc`` (error of the
    time-changed SDE), and the three curves as lists.

    Examples
    --------
    >>> cfg = Config(n_data=224, sched_steps=50)
    >>> imp = impact_schedule(yardstick(cfg), cfg)
    >>> imp.value > 0 and abs(imp.details["tc"]) < imp.value
    True
    """
    o, B, K = ys.ops, cfg.batch_size, cfg.sched_steps
    etas = [ys.eta_ref / math.sqrt(k + 1) for k in range(K)]
    ex_sgd = [lt.excess_loss(o, M) for M in lt.sgd_moment_path(o, etas, B)]
    ex_tc = [lt.excess_loss(o, M) for M in lt.sde_moment_path(o, etas, B)]
    ex_const = [lt.excess_loss(o, M) for M in lt.sde_moment_path(o, [ys.eta_ref] * K, B)]
    return Impact(
        ex_const[-1] / ex_sgd[-1] - 1,
        0.0,
        f"η0/√(k+1), loss at step {K}, SDE (23) with η0 (exact)",
        {"tc": ex_tc[-1] / ex_sgd[-1] - 1, "sgd": ex_sgd, "time_changed": ex_tc, "const": ex_const},
    )


def impact_finite_eta(ys: Yardstick, cfg: Config | None = None) -> Impact:
    """η → 0: the SDE (23) against SGD, stationary loss at η_ref (exact).

    Examples
    --------
    >>> impact_finite_eta(yardstick(Config(n_data=224))).value < 0
    True
    """
    return Impact(
        ys.exact["sde"] / ys.exact["sgd"] - 1,
        0.0,
        "SDE (23) vs SGD, stationary loss at η_ref (lin, exact)",
    )


def impact_reshuffling(ys: Yardstick, cfg: Config, lr: float | None = None) -> Impact:
    """No autocorrelation: reshuffled SGD (Monte Carlo) against white noise of the same covariance.

    The white-noise value is the exact with-replacement theory with the factor c = (n−B)/(n−1).
    ``lr`` defaults to η_ref; seed offset 16. ``details``: ``mc``, ``se``, ``white``.

    Examples
    --------
    >>> cfg = Config(n_data=224, chains=16, steps=200, burn=50)
    >>> imp = impact_reshuffling(yardstick(cfg), cfg)
    >>> math.isfinite(imp.value) and imp.se > 0
    True
    """
    eta = ys.eta_ref if lr is None else lr
    burn = cfg.burn if lr is None else min(3 * cfg.burn, cfg.steps // 2)
    c = WithoutReplacement(ys.lin.n, cfg.batch_size).cov_factor()
    m, se, _ = stationary_loss(
        ys.lin,
        ys.theta_hat,
        ys.ops.H,
        eta,
        cfg.batch_size,
        cfg.steps,
        burn,
        chains=cfg.chains,
        seed=cfg.seed + 16,
        sampling=Reshuffle.name,
    )
    white = lt.excess_loss(ys.ops, lt.stationary_moment_sgd(ys.ops, eta, cfg.batch_size, c))
    return Impact(
        float(m) / white - 1,
        float(se) / white,
        "reshuffling vs white noise, stationary loss at η_ref",
        {"mc": float(m), "se": float(se), "white": white},
    )


def impact_momentum(ys: Yardstick, cfg: Config) -> Impact:
    """Momentum: heavy-ball SGD at η = (1−μ)η_ref against (23) with that raw η (Monte Carlo).

    Seed offset 17; burn-in 3·``burn``. ``details``: ``mc``, ``se``, ``naive``, ``eff`` (the SDE
    with η/(1−μ)), ``err_eff``.

    Examples
    --------
    >>> cfg = Config(n_data=224, chains=16, steps=300, burn=50)
    >>> imp = impact_momentum(yardstick(cfg), cfg)
    >>> imp.value < -0.5 and abs(imp.details["err_eff"]) < abs(imp.value)
    True
    """
    mu = cfg.momentum
    eta = (1 - mu) * ys.eta_ref
    m, se, _ = stationary_loss(
        ys.lin,
        ys.theta_hat,
        ys.ops.H,
        eta,
        cfg.batch_size,
        cfg.steps,
        min(3 * cfg.burn, cfg.steps // 2),
        chains=cfg.chains,
        seed=cfg.seed + 17,
        momentum=mu,
    )
    naive, eff = (
        lt.excess_loss(ys.ops, lt.stationary_moment_sde(ys.ops, e, cfg.batch_size))
        for e in (eta, ys.eta_ref)
    )
    err = naive / float(m) - 1
    return Impact(
        err,
        (1 + err) * float(se) / float(m),
        f"heavy ball μ = {mu}, SDE (23) with the raw η",
        {
            "mc": float(m),
            "se": float(se),
            "naive": naive,
            "eff": eff,
            "err_eff": eff / float(m) - 1,
        },
    )


def impact_positive_definite(ys: Yardstick | None = None, cfg: Config | None = None) -> Impact:
    """Σ positive definite: for n < d the density (28)–(29) is undefined (impact ∞).

    Examples
    --------
    >>> impact_positive_definite().value
    inf
    """
    return Impact(math.inf, 0.0, "n < d: (28)–(29) undefined; SGD's law lives on θ0 + rowspace X")


def impact_constant_sigma(ys: Yardstick, cfg: Config | None = None) -> Impact:
    """Σ constant: the constant-Σ(θ̂) SDE against the SDE with Σ(θ), stationary loss (exact).

    Examples
    --------
    >>> impact_constant_sigma(yardstick(Config(n_data=224))).value < 0
    True
    """
    return Impact(
        ys.exact["add"] / ys.exact["sde"] - 1,
        0.0,
        "constant Σ(θ̂) vs Σ(θ) in (23), stationary loss (lin, exact)",
    )


def impact_detailed_balance(ys: Yardstick, cfg: Config) -> Impact:
    """Detailed balance: the zero-current Gaussian against the Lyapunov stationary law (exact).

    The zero-current law has covariance [(B/η)(Σ̂⁻¹H + HΣ̂⁻¹)]⁻¹ (exact iff HΣ̂ = Σ̂H).
    ``details``: ``fro`` (relative Frobenius error of the covariance), ``comm``
    (‖[H, Σ̂]‖/‖HΣ̂‖).

    Examples
    --------
    >>> cfg = Config(n_data=224)
    >>> abs(impact_detailed_balance(yardstick(cfg), cfg).value) > 0
    True
    """
    o, B, eta = ys.ops, cfg.batch_size, ys.eta_ref
    H, S = o.H, o.Sigma
    S_true = lt.stationary_moment_additive(o, eta, B)
    Sinv = torch.linalg.inv(S)
    S_db = torch.linalg.inv(B / eta * (Sinv @ H + H @ Sinv))
    nrm = torch.linalg.matrix_norm
    return Impact(
        lt.excess_loss(o, S_db) / lt.excess_loss(o, S_true) - 1,
        0.0,
        "zero-current Gaussian vs Lyapunov, stationary loss (lin, exact)",
        {
            "fro": float(nrm(S_db - S_true) / nrm(S_true)),
            "comm": float(nrm(H @ S - S @ H) / nrm(H @ S)),
        },
    )


#: the assumption names of the ranking, with the function that measures each
MEASURES = {
    "Lindeberg condition": impact_gaussian,
    "finite variance": impact_finite_variance,
    "i.i.d. samples": impact_iid,
    "B ≪ n": impact_finite_population,
    "η_k constant": impact_schedule,
    "η → 0": impact_finite_eta,
    "no autocorrelation": impact_reshuffling,
    "momentum not considered": impact_momentum,
    "Σ positive definite": impact_positive_definite,
    "Σ constant": impact_constant_sigma,
    "detailed balance": impact_detailed_balance,
}


def measure_all(cfg: Config, ys: Yardstick | None = None) -> dict[str, Impact]:
    """Every impact of ``MEASURES`` for ``cfg`` (the numbers the assumption pages compute).

    Examples
    --------
    >>> cfg = Config(n_data=224, chains=8, steps=150, burn=30, sched_steps=20)
    >>> sorted(measure_all(cfg))[:2]
    ['B ≪ n', 'Lindeberg condition']
    """
    ys = yardstick(cfg) if ys is None else ys
    return {name: f(ys, cfg) for name, f in MEASURES.items()}


def run(config: Config, *, device=None, progress: bool | None = None) -> Record:
    """Measure every impact of ``config`` (:func:`measure_all`) and return them as a record.

    ``results`` maps each assumption of ``MEASURES`` to its :meth:`Impact.record`. The
    network yardstick is separate (:func:`~sgdsde.experiments.assumptions.network_impacts`).

    Examples
    --------
    >>> rec = run(Config(n_data=224, chains=8, steps=150, burn=30, sched_steps=20))
    >>> rec.experiment, sorted(rec.results["η → 0"])
    ('assumptions', ['details', 'experiment', 'se', 'value'])
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be an assumptions.Config; got {type(config).__name__}")
    if device is not None:
        config = config.replace(device=str(resolve_device(device)))
    dev = resolve_device(config.device)
    with Timer(dev) as t:
        impacts = measure_all(config)
    results = {name: imp.record() for name, imp in impacts.items()}
    return make_record("assumptions", config, results, dev, t.seconds)
