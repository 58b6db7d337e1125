"""The configuration, the impact record and the least-squares yardstick."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch

from ... import linear_theory as lt
from ... import sgd
from ...problems import LinearRegression, digits_mlp
from ...stats import mean_se
from ..record import ExperimentConfig


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """The setting of the §2.3–2.4 measurements (CPU default; see ``PROFILES``).

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
PROFILES: dict[str, Config] = {
    "ci": Config(),
    "gpu": Config(chains=4096, steps=4000, burn=400, device="cuda"),
}
Config.PROFILES = PROFILES


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

    Examples
    --------
    >>> ys = yardstick(Config(n_data=224))
    >>> isinstance(ys, Yardstick), ys.theta_hat.shape == (ys.lin.d,)
    (True, True)
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
