"""The escape-phase experiment: one cell (h, B) of the phase diagram, or the whole grid as a sweep."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from ..record import ExperimentConfig, Record, Timer, make_record, resolve_device
from ..wells import Config as WellsConfig
from ..wells import DoubleWell, escape_times, fit_stable, gaussian_mean_exit_time, heavy_data

__all__ = ["Config", "PROFILES", "run", "METHODS"]

#: The three dynamics, in the order of the record's tables.
METHODS = ("SGD", "Gaussian SDE", "Lévy SDE")


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """The phase diagram of escape times over barrier height h × batch size B at step ``lr``.

    The data (``n_data`` stratified α-stable points of index ``alpha_data``, ``strata``) and the
    three dynamics are those of :mod:`sgdsde.experiments.wells`: SGD on the data, the Gaussian SDE
    of equal covariance (ε² = ησ²/B), the α-stable SDE fitted to SGD's noise at B
    (``noise_draws`` minibatches). Every cell (h, B) of ``depths`` × ``batches`` runs ``chains``
    chains of each dynamics for at most ``max_steps`` steps. The record's x-axis is η/B.

    Examples
    --------
    >>> c = Config.profile("ci")
    >>> len(c.depths) * len(c.batches), Config.profile("gpu").chains
    (12, 2048)
    """

    n_data: int = 10_000
    alpha_data: float = 1.5
    strata: int = 300
    noise_draws: int = 20_000
    lr: float = 0.05
    depths: tuple = (0.25, 0.5, 1.0)
    batches: tuple = (1, 2, 4, 8)
    chains: int = 256
    max_steps: int = 3000
    seed: int = 0

    def column(self, B: int) -> Config:
        """The one-column config of batch size ``B`` (all depths): one job of the sweep."""
        return self.replace(batches=(B,))


#: ``ci``: 3 × 4 cells, 256 chains (the chapter's default run); ``gpu``: 5 × 6 cells, 2048 chains.
PROFILES = {
    "ci": Config(),
    "gpu": Config(
        noise_draws=100_000,
        depths=(0.25, 0.5, 0.75, 1.0, 1.5),
        batches=(1, 2, 3, 4, 6, 8),
        chains=2048,
        max_steps=20_000,
    ),
}
Config.PROFILES = PROFILES


@functools.lru_cache(maxsize=2)
def _data(n_data: int, alpha_data: float, strata: int, seed: int, device: str):
    """The heavy-tailed data of :func:`sgdsde.experiments.wells.heavy_data`, once per process."""
    wcfg = WellsConfig(n_data=n_data, alpha_data=alpha_data, strata=strata, seed=seed)
    return heavy_data(wcfg, device)


def _run_column(cfg: Config, dev) -> dict:
    """Escape times of the three dynamics at the one batch size of ``cfg``, all depths batched
    into one ensemble per dynamics; per-depth lists."""
    from ...noise import sample_batch_grads

    (B,), H, eta = cfg.batches, list(cfg.depths), cfg.lr
    prob = _data(cfg.n_data, cfg.alpha_data, cfg.strata, cfg.seed, str(dev))
    draws = sample_batch_grads(prob, prob.theta0, B, cfg.noise_draws, seed=cfg.seed + B)
    fit = fit_stable((prob.grad(prob.theta0) - draws).flatten().cpu())
    eps_g = math.sqrt(eta * prob.sigma2 / B)
    eps_l = eta ** (1 - 1 / fit.alpha) * fit.scale
    common = dict(lr=eta, depth=H, chains=cfg.chains, max_steps=cfg.max_steps, device=dev)
    res = {
        "SGD": escape_times("sgd", data=prob.a, batch_size=B, seed=cfg.seed + 1, **common),
        "Gaussian SDE": escape_times("gaussian", eps=eps_g, seed=cfg.seed + 2, **common),
        "Lévy SDE": escape_times(
            "alpha_stable", eps=eps_l, alpha=fit.alpha, seed=cfg.seed + 3, **common
        ),
    }
    ms = {k: v.mean_steps() for k, v in res.items()}
    return {
        "sigma2": prob.sigma2,
        "alpha": [fit.alpha] * len(H),
        "scale": [fit.scale] * len(H),
        "eps_gaussian": [eps_g] * len(H),
        "eps_levy": [eps_l] * len(H),
        "mean_steps": {k: m.tolist() for k, (m, s) in ms.items()},
        "se_steps": {k: s.tolist() for k, (m, s) in ms.items()},
        "escaped": {k: v.escaped.tolist() for k, v in res.items()},
        "gaussian_theory_steps": [gaussian_mean_exit_time(DoubleWell(h), eps_g) / eta for h in H],
    }


def run(
    config: Config,
    *,
    device=None,
    progress: bool | None = None,
    executor=None,
    workers: int = 2,
    out=None,
) -> Record:
    """Run the phase diagram of ``config``.

    A config with one batch size runs here, its depths batched into one ensemble per dynamics.
    With several batch sizes it runs as a sweep (:func:`sgdsde.experiments.sweep.run_sweep`) of
    its one-column configs (:meth:`Config.column`) on ``executor`` (default: a local pool of
    ``workers`` processes; ``workers=0``: one by one here), resuming from the JSON-lines file
    ``out`` if given, and the columns are gathered into one record. Its ``results`` hold
    ``depths``, ``batches``, ``lr``, ``eta_over_B``, ``sigma2`` and, as lists over depths of
    lists over batch sizes: ``mean_steps`` / ``se_steps`` / ``escaped`` per method (in SGD
    steps; the censored-exponential mean where some chains did not escape, ``inf`` where none
    did), ``ratio_gauss_sgd`` (τ_G/τ_SGD), ``ratio_levy_sgd``, ``se_log_ratio_gauss_sgd``
    (delta method), ``gaussian_theory_steps`` (exact mean first-passage time), ``eps_gaussian``,
    ``eps_levy``, ``alpha``, ``scale``; ``column_wall_s`` per batch size.

    Seeds: the data ``seed``; the noise fit at B ``seed + B``; the SGD / Gaussian / Lévy
    ensembles ``seed + 1``, ``+ 2``, ``+ 3`` in every column (common random numbers).

    Examples
    --------
    >>> cfg = Config(n_data=300, strata=3, noise_draws=1000, depths=(0.5, 1.0), batches=(1,),
    ...              chains=8, max_steps=200)
    >>> rec = run(cfg)
    >>> rec.results["depths"], len(rec.results["ratio_gauss_sgd"]), rec.results["batches"]
    ([0.5, 1.0], 2, [1])
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be an escape_phase.Config; got {type(config).__name__}")
    dev = resolve_device(device)
    with Timer(dev) as t:
        if len(config.batches) == 1:
            per = {config.batches[0]: _run_column(config, dev)}
            per[config.batches[0]]["wall_s"] = None
        else:
            from ..sweep import run_sweep

            cols = [config.column(B) for B in config.batches]
            recs = run_sweep(
                "escape_phase",
                cols,
                out=out,
                executor=executor,
                workers=workers,
                device=None if dev.type == "cpu" else str(dev),
                progress=progress,
            )
            per = {B: _unpack(recs[c.key()]) for B, c in zip(config.batches, cols)}
    return make_record("escape_phase", config, _gather(config, per), dev, t.seconds)


_COLUMN_KEYS = ("alpha", "scale", "eps_gaussian", "eps_levy", "gaussian_theory_steps")


def _unpack(rec: Record) -> dict:
    """A one-column record's numbers as per-depth lists (its tables have one column)."""
    res = rec.results
    col = lambda t: [row[0] for row in t]  # noqa: E731
    d: dict = {k: col(res[k]) for k in _COLUMN_KEYS}
    for k in ("mean_steps", "se_steps", "escaped"):
        d[k] = {m: col(res[k][m]) for m in METHODS}
    d["sigma2"], d["wall_s"] = res["sigma2"], rec.wall_s
    return d


def _gather(cfg: Config, per: dict) -> dict:
    """Per-column dicts (per-depth lists) → the record's tables (rows: depths, columns: B)."""
    H, Bs = range(len(cfg.depths)), cfg.batches

    def table(f):
        return [[f(per[B], i) for B in Bs] for i in H]

    def ratio(c, i, m):
        a, b = c["mean_steps"][m][i], c["mean_steps"]["SGD"][i]
        return a / b

    def se_log(c, i):
        (a, sa), (b, sb) = (
            (c["mean_steps"][m][i], c["se_steps"][m][i]) for m in ("Gaussian SDE", "SGD")
        )
        return math.hypot(sa / a, sb / b) if math.isfinite(a) else math.inf

    out = {
        "depths": list(cfg.depths),
        "batches": list(Bs),
        "lr": cfg.lr,
        "eta_over_B": [cfg.lr / B for B in Bs],
        "sigma2": per[Bs[0]]["sigma2"],
        "mean_steps": {m: table(lambda c, i, m=m: c["mean_steps"][m][i]) for m in METHODS},
        "se_steps": {m: table(lambda c, i, m=m: c["se_steps"][m][i]) for m in METHODS},
        "escaped": {m: table(lambda c, i, m=m: c["escaped"][m][i]) for m in METHODS},
        "ratio_gauss_sgd": table(lambda c, i: ratio(c, i, "Gaussian SDE")),
        "ratio_levy_sgd": table(lambda c, i: ratio(c, i, "Lévy SDE")),
        "se_log_ratio_gauss_sgd": table(se_log),
        "column_wall_s": [per[B]["wall_s"] for B in Bs],
    }
    for k in _COLUMN_KEYS:
        out[k] = table(lambda c, i, k=k: c[k][i])
    return out
