"""The assumptions behind the SDE (notes §2.3), each measured as one impact figure (notes §2.4).

The yardstick is the stationary excess loss E[L_n(θ) − L_n(θ̂)] of SGD on least squares from the
first principal components of scikit-learn's digits to the centred label (``lin``), at batch size B
and half of SGD's mean-square stability edge (η_ref). For that model the stationary second moments
of SGD, of the SDE (23) and of its constant-Σ version are exact (:mod:`sgdsde.linear_theory`), so
most impacts are differences of exact numbers; the others are Monte Carlo means with standard
errors over independent chains.

Every impact is a function of a :class:`Config` (its ``seed`` included) and the
:class:`Yardstick` built from it, so the page on an assumption and the ranking page compute the
same number: ``impact_*(yardstick(cfg), cfg)``. :func:`measure_all` returns all of them;
:func:`network_impacts` measures four of them on a small tanh network (the second yardstick of the
ranking). Records are JSON-serialisable through :meth:`Impact.record`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch

from .. import linear_theory as lt
from .. import noise, sde, sgd
from ..problems import LinearRegression, TorchModel, digits_mlp
from ..sampling import Reshuffle, WithoutReplacement
from ..stats import mean_se

__all__ = [
    "Config",
    "PROFILES",
    "Impact",
    "Yardstick",
    "yardstick",
    "stationary_loss",
    "impact_gaussian",
    "impact_finite_variance",
    "impact_iid",
    "impact_finite_population",
    "impact_schedule",
    "impact_finite_eta",
    "impact_reshuffling",
    "impact_momentum",
    "impact_positive_definite",
    "impact_constant_sigma",
    "impact_detailed_balance",
    "MEASURES",
    "measure_all",
    "ar1_features",
    "NetConfig",
    "NET_PROFILES",
    "network_impacts",
    "NET_MEASURES",
    "half_squared_error",
]


@dataclass(frozen=True)
class Config:
    """The setting of the §2.3–2.4 measurements (CPU default; see :data:`PROFILES`).

    Parameters
    ----------
    seed : int; every random draw derives from it (fixed offsets per experiment)
    n_data : int; digits used (56 batches of 32 for 1792)
    batch_size : int; B of the ranking
    pca_dim : int; features of ``lin``
    chains, steps, burn : Monte Carlo chains, steps per stationary run, discarded first steps
    momentum : float; μ of the heavy-ball experiment
    sched_steps : int; steps of the η₀/√(k+1) schedule experiment
    device : str

    Examples
    --------
    >>> Config(seed=3).chains
    128
    """

    seed: int = 0
    n_data: int = 1792
    batch_size: int = 32
    pca_dim: int = 10
    chains: int = 128
    steps: int = 800
    burn: int = 100
    momentum: float = 0.9
    sched_steps: int = 200
    device: str = "cpu"

    def __post_init__(self):
        for name in ("n_data", "batch_size", "pca_dim", "chains", "steps", "sched_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an int ≥ 1; got {v!r}")
        if not 0 <= self.burn < self.steps:
            raise ValueError(f"burn must be in [0, steps); got {self.burn!r}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1); got {self.momentum!r}")


#: named scale profiles: the CI default and a larger GPU run (smaller standard errors)
PROFILES: dict[str, dict] = {
    "cpu": {},
    "gpu": {"chains": 4096, "steps": 4000, "burn": 400, "device": "cuda"},
}


@dataclass
class Impact:
    """One impact figure: the signed relative error of the SDE picture when the assumption fails.

    Parameters
    ----------
    value : float; relative error (``inf``: the prediction is undefined)
    se : float; its standard error (0 for a difference of exact values)
    experiment : str; what was compared
    details : dict of str → float; the numbers behind it (for the assumption's own page)

    Examples
    --------
    >>> Impact(0.1, 0.02, "test").record()["value"]
    0.1
    """

    value: float
    se: float
    experiment: str
    details: dict = field(default_factory=dict)

    def record(self) -> dict:
        """A JSON-serialisable dict of the impact."""
        return asdict(self)


@dataclass
class Yardstick:
    """The digits data, the ``lin`` problem at its minimiser θ̂ and its exact stationary losses.

    Attributes: ``X`` (standardised pixels), ``labels``, ``Z`` (PCA scores), ``y`` (centred
    labels), ``lin``, ``theta_hat``, ``ops`` (:class:`~sgdsde.linear_theory.MomentOperators` at
    θ̂), ``eta_edge``, ``eta_ref`` (= η_edge/2), ``exact`` (excess losses of ``"sgd"``, ``"sde"``,
    ``"add"`` (constant Σ) at η_ref).
    """

    X: torch.Tensor
    labels: torch.Tensor
    Z: torch.Tensor
    y: torch.Tensor
    lin: LinearRegression
    theta_hat: torch.Tensor
    ops: lt.MomentOperators
    eta_edge: float
    eta_ref: float
    exact: dict


def yardstick(cfg: Config) -> Yardstick:
    """Build the yardstick of ``cfg``: digits (one seeded permutation), ``lin``, η_ref, exact losses.

    Examples
    --------
    >>> ys = yardstick(Config(n_data=224))
    >>> ys.lin.d, round(ys.eta_ref / ys.eta_edge, 3), ys.exact["sgd"] > ys.exact["sde"]
    (10, 0.5, True)
    """
    dev = torch.device(cfg.device)
    base = digits_mlp((1,), n=cfg.n_data, seed=cfg.seed, dtype=torch.float64, device=dev)
    X, labels = base.X, base.y
    Xc = X - X.mean(0)
    _, _, Vt = torch.linalg.svd(Xc, full_matrices=False)
    Z = Xc @ Vt[: cfg.pca_dim].T
    y = labels.to(X.dtype) - labels.to(X.dtype).mean()
    lin = LinearRegression(Z, y)
    th = lin.minimizer()
    ops = lt.moment_operators(lin, th)
    edge = lt.sgd_stability_edge(ops, cfg.batch_size)
    eta = edge / 2
    fs = (
        ("sgd", lt.stationary_moment_sgd),
        ("sde", lt.stationary_moment_sde),
        ("add", lt.stationary_moment_additive),
    )
    exact = {k: lt.excess_loss(ops, f(ops, eta, cfg.batch_size)) for k, f in fs}
    return Yardstick(X, labels, Z, y, lin, th, ops, edge, eta, exact)


def stationary_loss(
    problem,
    theta_hat: torch.Tensor,
    H: torch.Tensor,
    lr,
    batch_size: int,
    steps: int,
    burn: int,
    *,
    chains: int,
    seed: int,
    sampling: str = "with_replacement",
    momentum: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-chain time averages of ½δᵀHδ (δ = θ_k − θ̂, steps ≥ ``burn``) of SGD started at θ̂.

    Returns ``(mean, se, deltas)``: the mean over chains, its standard error (chains are
    independent) and the recorded δ ``(steps + 1 − burn, chains, d)``.

    Examples
    --------
    >>> ys = yardstick(Config(n_data=224))
    >>> m, se, _ = stationary_loss(ys.lin, ys.theta_hat, ys.ops.H, ys.eta_ref, 32, 200, 50,
    ...                            chains=16, seed=0)
    >>> abs(float(m) - ys.exact["sgd"]) < 6 * float(se)
    True
    """
    tr = sgd.run(
        problem,
        theta_hat,
        lr,
        batch_size,
        steps,
        chains=chains,
        seed=seed,
        sampling=sampling,
        momentum=momentum,
        record_loss=False,
    )
    dth = tr.theta[burn:] - theta_hat
    per_chain = 0.5 * torch.einsum("tcd,de,tce->tc", dth, H, dth).mean(0)
    m, se = mean_se(per_chain)
    return m, se, dth


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


def ar1_features(
    n: int, d: int, rho: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """AR(1) features x_t = ρx_{t−1} + √(1−ρ²)z_t ``(n, d)`` and AR(1) noise e_t ``(n,)`` (float64).

    Stationary from the start (x_0 ~ N(0, I)); computed as a linear filter, not a Python loop.

    Examples
    --------
    >>> X, e = ar1_features(2000, 3, 0.9, torch.Generator().manual_seed(0))
    >>> X.shape, round(float((X[1:] * X[:-1]).sum() / (X * X).sum()), 1)
    (torch.Size([2000, 3]), 0.9)
    """
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must be in (-1, 1); got {rho!r}")
    if n < 1 or d < 1:
        raise ValueError(f"n and d must be ≥ 1; got {n!r}, {d!r}")
    z = torch.randn(n, d + 1, generator=generator, dtype=torch.float64)
    z[1:] *= math.sqrt(1 - rho**2)
    # x_t = Σ_{s ≤ t} ρ^{t−s} z_s, by cumulative sums of ρ^{−s} z_s in blocks (no overflow)
    out = torch.empty_like(z)
    prev = torch.zeros(d + 1, dtype=torch.float64)
    block = 64
    for s in range(0, n, block):
        zb = z[s : s + block]
        k = torch.arange(zb.shape[0], dtype=torch.float64)
        w = rho ** (-k)
        acc = torch.cumsum(zb * w[:, None], 0) * (rho**k)[:, None]
        out[s : s + block] = acc + (rho ** (k + 1))[:, None] * prev
        prev = out[s + zb.shape[0] - 1]
    return out[:, :d], out[:, d]


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
    """Every impact of :data:`MEASURES` for ``cfg`` (the numbers the assumption pages compute).

    Examples
    --------
    >>> cfg = Config(n_data=224, chains=8, steps=150, burn=30, sched_steps=20)
    >>> sorted(measure_all(cfg))[:2]
    ['B ≪ n', 'Lindeberg condition']
    """
    ys = yardstick(cfg) if ys is None else ys
    return {name: f(ys, cfg) for name, f in MEASURES.items()}


# ---- the second yardstick: a small tanh network ---------------------------------------------


@dataclass(frozen=True)
class NetConfig:
    """The tanh-network yardstick: inputs the first ``pca_dim`` PCA scores, one hidden tanh layer.

    The network 𝑓(x) = w₂ᵀtanh(W₁x + b₁) + b₂ is trained by full-batch GD on the squared loss to
    the centred label (``train_steps`` steps at ``train_lr``); θ̂ is that point. The impacts are
    stationary excess losses L_n(θ) − L_n(θ̂) of SGD runs started at θ̂, time-averaged per chain.

    Examples
    --------
    >>> NetConfig().hidden
    4
    """

    seed: int = 0
    n_data: int = 448
    pca_dim: int = 10
    hidden: int = 4
    batch_size: int = 32
    train_lr: float = 0.3
    train_steps: int = 3000
    lr_fraction: float = 0.5
    chains: int = 32
    steps: int = 400
    burn: int = 100
    momentum: float = 0.9
    measures: tuple = ("Lindeberg condition", "η → 0", "no autocorrelation")
    device: str = "cpu"

    def __post_init__(self):
        bad = set(self.measures) - set(NET_MEASURES)
        if bad:
            raise ValueError(f"measures must be among {NET_MEASURES}; got {sorted(bad)}")
        Config(
            n_data=self.n_data,
            batch_size=self.batch_size,
            pca_dim=self.pca_dim,
            chains=self.chains,
            steps=self.steps,
            burn=self.burn,
            momentum=self.momentum,
        )
        if not 0 < self.lr_fraction < 1:
            raise ValueError(f"lr_fraction must be in (0, 1); got {self.lr_fraction!r}")


#: the impacts :func:`network_impacts` can measure
NET_MEASURES = ("Lindeberg condition", "η → 0", "no autocorrelation", "momentum not considered")

#: scale profiles of the network yardstick: the CI one measures three impacts (momentum needs
#: long runs at the small raw step) on 32 chains of 250 steps (the ranking page's time budget;
#: the SEs of the three ratios are about 1.5%), the ``gpu`` one all four with more chains, steps
#: and data
NET_PROFILES: dict[str, dict] = {
    "cpu": {"steps": 250},
    "gpu": {
        "n_data": 1792,
        "chains": 1024,
        "steps": 2000,
        "burn": 400,
        "device": "cuda",
        "measures": NET_MEASURES,
    },
}


def half_squared_error(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """½ Σ (out − target)², a loss for :class:`~sgdsde.problems.TorchModel` (one output squeezed).

    Examples
    --------
    >>> half_squared_error(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0])).item()
    2.5
    """
    if out.shape[-1:] == (1,) and out.dim() == target.dim() + 1:
        out = out.squeeze(-1)
    return 0.5 * ((out - target) ** 2).sum()


def _net_problem(ncfg: NetConfig) -> TorchModel:
    ys = yardstick(
        Config(seed=ncfg.seed, n_data=ncfg.n_data, pca_dim=ncfg.pca_dim, device=ncfg.device)
    )
    torch.manual_seed(ncfg.seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(ncfg.pca_dim, ncfg.hidden),
        torch.nn.Tanh(),
        torch.nn.Linear(ncfg.hidden, 1),
    ).to(dtype=torch.float64, device=ys.Z.device)
    zs = ys.Z / ys.Z.std(0)
    return TorchModel(net, half_squared_error, zs, ys.y / ys.y.std())


def network_impacts(ncfg: NetConfig) -> dict[str, Impact]:
    """Four impacts on the tanh network (Monte Carlo; the ranking's second yardstick).

    With L(η, B, scheme, μ) the stationary excess loss of SGD started at the GD-trained θ̂, at
    η = ``lr_fraction`` × 2/λ_max(∇²L_n(θ̂)):

    * ``"Lindeberg condition"``: Euler–Maruyama of (23) at dt = η (Gaussian noise of the same
      covariance Σ(θ)/B, same step) against SGD — non-Gaussianity alone;
    * ``"η → 0"``: SGD at (η/2, B/2) (same η/B, so the same SDE (23)) against SGD at (η, B);
      to first order in η this is half the error of (23);
    * ``"no autocorrelation"``: reshuffled SGD against independent batches without replacement
      (same one-step covariance);
    * ``"momentum not considered"``: plain SGD at the raw η' = (1−μ)η against heavy ball (μ, η').

    Each value is a ratio of two Monte Carlo means minus 1; its SE combines both (delta method).
    Seed offsets 20–27.

    Examples
    --------
    >>> imp = network_impacts(NetConfig(n_data=224, chains=4, steps=60, burn=20, train_steps=50))
    >>> sorted(imp)
    ['Lindeberg condition', 'no autocorrelation', 'η → 0']
    """
    p = _net_problem(ncfg)
    gd = sgd.run(
        p,
        None,
        ncfg.train_lr,
        None,
        ncfg.train_steps,
        seed=ncfg.seed,
        record_every=ncfg.train_steps,
        record_loss=False,
    )
    th = gd.final[0]
    L0 = float(p.loss(th))
    lam = float(
        noise.sharpness(
            p, th, iters=50, generator=torch.Generator(device=th.device).manual_seed(ncfg.seed)
        )[0]
    )
    eta = ncfg.lr_fraction * 2 / lam
    B = ncfg.batch_size

    def excess(loss: torch.Tensor, burn: int) -> tuple[float, float]:
        m, se = mean_se(loss[burn:].mean(0) - L0)
        return float(m), float(se)

    def run(lr, b, seed, steps=ncfg.steps, burn=ncfg.burn, **kw):
        tr = sgd.run(p, th, lr, b, steps, chains=ncfg.chains, seed=ncfg.seed + seed, **kw)
        return excess(tr.loss, burn)

    def ratio(a, b, what, details=None):
        v = a[0] / b[0]
        se = abs(v) * math.hypot(a[1] / a[0], b[1] / b[0])
        return Impact(
            v - 1,
            se,
            what,
            {"num": a[0], "num_se": a[1], "den": b[0], "den_se": b[1]} | (details or {}),
        )

    det = {"eta": eta, "sharpness": lam, "loss_hat": L0, "d": float(p.d)}
    out: dict[str, Impact] = {}
    want = set(ncfg.measures)
    base = run(eta, B, 20) if want & {"Lindeberg condition", "η → 0"} else None
    if "Lindeberg condition" in want:
        path = sde.sgd_sde(
            p, th, eta, B, ncfg.steps, dt=eta, chains=ncfg.chains, seed=ncfg.seed + 21
        )
        em = excess(p.per_sample_losses(path.x).mean(-1), ncfg.burn)
        out["Lindeberg condition"] = ratio(em, base, "Gaussian EM (dt = η) vs SGD, net", det)
    if "η → 0" in want:
        small = run(eta / 2, max(1, B // 2), 22, steps=2 * ncfg.steps, burn=2 * ncfg.burn)
        out["η → 0"] = ratio(small, base, "SGD at (η/2, B/2) vs (η, B), net", det)
    if "no autocorrelation" in want:
        wo = run(eta, B, 23, sampling=WithoutReplacement.name)
        rr = run(eta, B, 24, sampling=Reshuffle.name)
        out["no autocorrelation"] = ratio(rr, wo, "reshuffling vs independent batches, net", det)
    if "momentum not considered" in want:
        mu = ncfg.momentum
        eta_m = (1 - mu) * eta
        hb = run(eta_m, B, 25, steps=3 * ncfg.steps, burn=3 * ncfg.burn, momentum=mu)
        plain = run(eta_m, B, 26, steps=3 * ncfg.steps, burn=3 * ncfg.burn)
        out["momentum not considered"] = ratio(
            plain, hb, f"plain SGD at (1−μ)η vs heavy ball μ = {mu}", det
        )
    return out
