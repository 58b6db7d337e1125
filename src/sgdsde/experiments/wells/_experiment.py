"""The escape-time experiment of notes §4 as Config → run → Record → checks.

SGD on heavy-tailed (stratified α-stable) data against the Gaussian SDE of equal covariance and the
α-stable SDE fitted to SGD's noise, over a grid of barrier heights h, steps η and batch sizes B;
plus a light-tailed control (Gaussian data, where the Gaussian SDE is SGD up to the finite data).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ...levy import symmetric_stable
from ...noise import sample_batch_grads
from ..record import ExperimentConfig, Record, Timer, make_record, resolve_device
from ._escape import escape_times
from ._fit import StableFit, fit_stable
from ._laws import gaussian_mean_exit_time, levy_mean_exit_time
from ._potential import DoubleWell, WellProblem, well_problem

__all__ = [
    "Config",
    "PROFILES",
    "run",
    "heavy_data",
    "fits_of",
    "alpha_separation",
    "kramers_pairs",
    "kramers_sigma2_max",
    "check_escape",
    "METHODS",
]

#: The three dynamics compared, in the order of the record's tables.
METHODS = ("SGD", "Gaussian SDE", "Lévy SDE")


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Every parameter of the escape-time experiment (profiles: :data:`PROFILES`).

    ``n_data`` data points a_i: heavy-tailed ones are the (i − ½)/n quantiles of ``strata``·n
    symmetric α-stable draws (index ``alpha_data``, scale 1), light ones N(0, ``light_scale``²);
    ``noise_draws`` minibatch-noise samples per batch size for the stable fit; the grid
    ``depths`` × ``lrs`` × ``batches`` of (h, η, B) with ``chains`` chains each and horizon
    ``max_steps``; the light-tailed ``control`` configurations (h, η, B). ``ou_chains`` and
    ``rev_chains`` size the chapter's stationary-law and time-reversal cells (not run here).

    Examples
    --------
    >>> Config.profile("ci").chains, Config.profile("gpu", seed=5).seed
    (256, 5)
    """

    n_data: int = 10_000
    alpha_data: float = 1.5
    strata: int = 300
    noise_draws: int = 100_000
    light_scale: float = 3.6
    depths: tuple = (0.5, 1.0, 2.0)
    lrs: tuple = (0.05, 0.1)
    batches: tuple = (1, 4)
    chains: int = 256
    max_steps: int = 3000
    control: tuple = ((0.5, 0.05, 1), (1.0, 0.05, 1), (0.5, 0.05, 2))
    ou_chains: int = 8000
    rev_chains: int = 50_000
    seed: int = 0


#: ``ci``: the chapter's default CPU run; ``gpu``: a finer grid and more chains.
PROFILES = {
    "ci": Config(),
    "gpu": Config(
        depths=(0.25, 0.5, 1.0, 2.0, 4.0),
        lrs=(0.02, 0.05, 0.1),
        batches=(1, 2, 4, 8),
        chains=4096,
        max_steps=20_000,
        ou_chains=200_000,
        rev_chains=10**6,
    ),
}
Config.PROFILES = PROFILES


def heavy_data(cfg: Config, device=None) -> WellProblem:
    """The stratified heavy-tailed :class:`WellProblem` of ``cfg`` (unit double well).

    Examples
    --------
    >>> p = heavy_data(Config(n_data=100, strata=3))
    >>> p.n, abs(float(p.a.mean())) < 1e-12
    (100, True)
    """
    g = torch.Generator().manual_seed(cfg.seed)
    big = symmetric_stable(
        cfg.alpha_data, (cfg.n_data * cfg.strata,), generator=g, dtype=torch.float64
    )
    a = big.sort().values[cfg.strata // 2 :: cfg.strata].contiguous()
    return WellProblem(DoubleWell(1.0, 1.0), a.to(resolve_device(device)))


def _alpha_se(xi: torch.Tensor, parts: int = 10) -> float:
    """Standard error of the fitted α̂ from ``parts`` disjoint blocks: sd(α̂_block)/√parts (each
    block has 1/parts of the samples, so its SE is √parts times the full one); nan below 100
    samples per block."""
    m = xi.numel() // parts
    if m < 100:
        return math.nan
    a = torch.tensor([fit_stable(xi[i * m : (i + 1) * m]).alpha for i in range(parts)])
    return float(a.std()) / math.sqrt(parts)


def run(config: Config, *, device=None, progress: bool | None = None) -> Record:
    """Run the escape-time comparison of ``config``; the record's ``results`` hold

    ``sigma2`` (Σ_emp of the heavy and light data), ``fits`` (α̂ with its block standard error
    ``alpha_se``, scale, variance of SGD's noise per data set and batch size), ``grid`` ([h, η, B] per configuration), ``eps_gaussian``,
    ``eps_levy``, ``alpha_levy``, ``mean_steps`` / ``se_steps`` (per method, in SGD steps;
    ``inf`` where nothing escaped), ``theory_steps`` (exact Gaussian MFPT, first-order Lévy law)
    and ``control`` (light-tailed data: SGD and Gaussian SDE means and SEs).

    Seeds: heavy data ``seed``, light data ``seed + 1``, the noise fit at batch size B
    ``seed + B``, the SGD / Gaussian / Lévy ensembles ``seed + 1``, ``+ 2``, ``+ 3``, the control
    ``seed + 4``, ``+ 5``.

    Examples
    --------
    >>> cfg = Config(n_data=500, strata=3, noise_draws=2000, depths=(0.5,), lrs=(0.05,),
    ...              batches=(1,), chains=8, max_steps=200, control=((0.5, 0.05, 1),))
    >>> rec = run(cfg)
    >>> sorted(rec.results["mean_steps"]) == sorted(METHODS), rec.seed
    (True, 0)
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a wells.Config; got {type(config).__name__}")
    cfg, dev = config, resolve_device(device)
    with Timer(dev) as t:
        heavy = heavy_data(cfg, dev)
        light = well_problem(
            heavy.U,
            cfg.n_data,
            noise="gaussian",
            scale=cfg.light_scale,
            seed=cfg.seed + 1,
            device=dev,
        )
        fits: dict[str, dict[str, dict]] = {"heavy": {}, "light": {}}
        for name, prob in (("heavy", heavy), ("light", light)):
            for B in sorted(set(cfg.batches) | {2}):
                draws = sample_batch_grads(prob, prob.theta0, B, cfg.noise_draws, seed=cfg.seed + B)
                xi = prob.grad(prob.theta0) - draws
                xi = xi.flatten().cpu()
                f = fit_stable(xi)
                fits[name][str(B)] = {
                    "alpha": f.alpha,
                    "scale": f.scale,
                    "variance": f.variance,
                    "n": f.n,
                    "alpha_se": _alpha_se(xi),
                }
        grid = list(itertools.product(cfg.depths, cfg.lrs, cfg.batches))
        h_g, eta_g, B_g = ([g[i] for g in grid] for i in range(3))
        fit = [fits["heavy"][str(B)] for B in B_g]
        eps_G = [math.sqrt(e * heavy.sigma2 / B) for e, B in zip(eta_g, B_g)]
        eps_L = [e ** (1 - 1 / f["alpha"]) * f["scale"] for e, f in zip(eta_g, fit)]
        al_L = [f["alpha"] for f in fit]
        common: dict[str, Any] = dict(
            lr=eta_g,
            depth=h_g,
            chains=cfg.chains,
            max_steps=cfg.max_steps,
            device=dev,
            progress=progress,
        )
        res = {
            "SGD": escape_times("sgd", data=heavy.a, batch_size=B_g, seed=cfg.seed + 1, **common),
            "Gaussian SDE": escape_times("gaussian", eps=eps_G, seed=cfg.seed + 2, **common),
            "Lévy SDE": escape_times(
                "alpha_stable", eps=eps_L, alpha=al_L, seed=cfg.seed + 3, **common
            ),
        }
        theory = {
            "Gaussian SDE": [
                gaussian_mean_exit_time(DoubleWell(h), e) / eta
                for h, e, eta in zip(h_g, eps_G, eta_g)
            ],
            "Lévy SDE": [
                levy_mean_exit_time(1.0, e, a) / eta for e, a, eta in zip(eps_L, al_L, eta_g)
            ],
        }
        ctrl = [tuple(c) for c in cfg.control]
        kw: dict[str, Any] = dict(
            lr=[c[1] for c in ctrl],
            depth=[c[0] for c in ctrl],
            chains=cfg.chains,
            max_steps=cfg.max_steps,
            device=dev,
            progress=progress,
        )
        e_sgd = escape_times(
            "sgd", data=light.a, batch_size=[c[2] for c in ctrl], seed=cfg.seed + 4, **kw
        )
        e_gau = escape_times(
            "gaussian",
            eps=[math.sqrt(c[1] * light.sigma2 / c[2]) for c in ctrl],
            seed=cfg.seed + 5,
            **kw,
        )
    ms = {k: v.mean_steps() for k, v in res.items()}
    (m1, s1), (m2, s2) = e_sgd.mean_steps(), e_gau.mean_steps()
    results = {
        "sigma2": {"heavy": heavy.sigma2, "light": light.sigma2},
        "fits": fits,
        "grid": grid,
        "eps_gaussian": eps_G,
        "eps_levy": eps_L,
        "alpha_levy": al_L,
        "mean_steps": {k: v[0] for k, v in ms.items()},
        "se_steps": {k: v[1] for k, v in ms.items()},
        "theory_steps": theory,
        "control": {"grid": ctrl, "sgd_mean": m1, "sgd_se": s1, "gauss_mean": m2, "gauss_se": s2},
    }
    return make_record("wells", cfg, results, dev, t.seconds)


def fits_of(record: Record) -> dict[tuple[str, int], StableFit]:
    """The record's stable fits as ``{(data, B): StableFit}`` (data ``"heavy"`` or ``"light"``).

    Examples
    --------
    >>> r = Record("wells", {}, {"fits": {"heavy": {"1": {"alpha": 1.5, "scale": 1.0,
    ...            "variance": 9.0, "n": 10}}}}, seed=0)
    >>> fits_of(r)["heavy", 1].alpha
    1.5
    """
    return {
        (name, int(B)): StableFit(**{k: f[k] for k in ("alpha", "scale", "variance", "n")})
        for name, per_b in record.results["fits"].items()
        for B, f in per_b.items()
    }


def alpha_separation(record: Record, *, k: float = 5.0) -> dict:
    """Is SGD's noise at B = 1 detectably heavy-tailed for the heavy data and not for the light?

    With the block standard errors ``alpha_se``: ``heavy_tailed``: heavy α̂ + k·SE < 2;
    ``light_gaussian``: light α̂ + k·SE ≥ 2 (not detectably below the Gaussian value; α̂ is clipped
    at 2); ``different``: light α̂ − heavy α̂ > k·√(SE² + SE²); ``separated``: all three.

    Examples
    --------
    >>> f = {"heavy": {"1": {"alpha": 1.5, "alpha_se": 0.01}},
    ...      "light": {"1": {"alpha": 1.98, "alpha_se": 0.02}}}
    >>> c = alpha_separation(Record("wells", {}, {"fits": f}, seed=0))
    >>> c["heavy_tailed"], c["light_gaussian"], c["different"], c["separated"]
    (True, True, True, True)
    """
    h, li = record.results["fits"]["heavy"]["1"], record.results["fits"]["light"]["1"]
    hu, lu = h["alpha"] + k * h["alpha_se"], li["alpha"] + k * li["alpha_se"]
    z = (li["alpha"] - h["alpha"]) / math.hypot(h["alpha_se"], li["alpha_se"])
    out = {
        "heavy_upper": hu,
        "light_upper": lu,
        "z_difference": z,
        "heavy_tailed": bool(hu < 2.0),
        "light_gaussian": bool(lu >= 2.0),
        "different": bool(z > k),
    }
    out["separated"] = out["heavy_tailed"] and out["light_gaussian"] and out["different"]
    return out


def kramers_pairs(config: Config | dict, sigma2: float, *, log_ratio: float = 1.5) -> int:
    """How many (η, B) pairs of ``config`` put the Gaussian SDE with ε² = ησ²/B in its Kramers
    regime: its exact mean first-passage time grows by at least e^``log_ratio`` from the lowest to
    the highest barrier. Decreasing in ``sigma2`` (more noise, less depth dependence).

    Examples
    --------
    >>> kramers_pairs(Config(), 10.0) >= kramers_pairs(Config(), 100.0)
    True
    """
    c = config.to_dict() if isinstance(config, Config) else config
    h0, h1 = min(c["depths"]), max(c["depths"])
    n = 0
    for eta, B in itertools.product(c["lrs"], c["batches"]):
        eps = math.sqrt(eta * sigma2 / B)
        t0 = gaussian_mean_exit_time(DoubleWell(h0), eps, points=4001)
        t1 = gaussian_mean_exit_time(DoubleWell(h1), eps, points=4001)
        n += math.log(t1 / t0) >= log_ratio
    return n


def kramers_sigma2_max(config: Config | dict, need: int = 2, *, log_ratio: float = 1.5) -> float:
    """The largest Σ_emp at which at least ``need`` pairs stay in the Kramers regime
    (:func:`kramers_pairs`), by bisection on log Σ_emp (relative precision 1e-2) from the level
    where the deepest barrier is 150 noise units (2h/ε² = 300) up to 10⁴ times that; 0 if none.

    Examples
    --------
    >>> s = kramers_sigma2_max(Config())
    >>> kramers_pairs(Config(), 0.98 * s) >= 2 > kramers_pairs(Config(), 1.02 * s)
    True
    """
    c = config.to_dict() if isinstance(config, Config) else config
    h1 = max(c["depths"])
    lo = max(2 * h1 * B / (eta * 300) for eta, B in itertools.product(c["lrs"], c["batches"]))
    hi = 1e4 * lo
    if kramers_pairs(config, lo, log_ratio=log_ratio) < need:
        return 0.0
    while hi / lo > 1.01:
        mid = math.sqrt(lo * hi)
        if kramers_pairs(config, mid, log_ratio=log_ratio) >= need:
            lo = mid
        else:
            hi = mid
    return lo


def check_escape(record: Record, *, k: float = 5.0, kramers_log_ratio: float = 1.5) -> dict:
    """The numbers the chapter asserts, from a :func:`run` record (``k`` standard errors).

    Returns a dict with

    * ``err_levy``, ``err_gauss``: geometric-mean factor by which each SDE misses SGD's mean escape
      time (a Gaussian configuration with no escape counts as the lower bound chains·horizon);
    * ``pairs`` (η, B), and per pair ``d_sgd``, ``se_sgd``, ``d_gauss``, ``se_gauss``:
      log τ(h_max) − log τ(h_min) with delta-method SEs; ``kramers`` (bool per pair): the exact
      Gaussian MFPT grows by at least e^``kramers_log_ratio`` from the lowest to the highest barrier;
    * ``z_shallow``: (SGD − Gaussian SDE)/SE in the shallowest well at the smallest B;
    * ``b_max_ratio``: geometric mean of SGD / Lévy SDE at the largest B; ``sgd_depth`` and
      ``gauss_depth``: mean depth factors over the Kramers pairs; ``control_z``: |z| of the
      light-tailed control;
    * booleans ``sgd_all_escaped``, ``levy_beats_gaussian``, ``depth_separates`` (Gaussian depth
      dependence exceeds SGD's by k SE in every Kramers pair), ``gaussian_faster_shallow``
      (z_shallow > k everywhere) and ``control_agrees`` (every |z| < k).

    Examples
    --------
    >>> cfg = Config(n_data=500, strata=3, noise_draws=2000, depths=(0.5, 1.0), lrs=(0.05,),
    ...              batches=(1,), chains=8, max_steps=300, control=((0.5, 0.05, 1),))
    >>> c = check_escape(run(cfg))
    >>> sorted(c)[:3], isinstance(c["levy_beats_gaussian"], bool)
    (['b_max_ratio', 'control_agrees', 'control_z'], True)
    """
    r, cfg = record.results, record.config
    grid = [tuple(g) for g in r["grid"]]
    mean = {k_: np.asarray(r["mean_steps"][k_], dtype=float) for k_ in METHODS}
    se = {k_: np.asarray(r["se_steps"][k_], dtype=float) for k_ in METHODS}
    lb = cfg["chains"] * cfg["max_steps"]
    m_sgd = mean["SGD"]
    ok_sgd = bool(np.isfinite(m_sgd).all())
    err = {
        k_: np.abs(np.log(np.where(np.isfinite(mean[k_]), mean[k_], lb) / m_sgd))
        for k_ in ("Gaussian SDE", "Lévy SDE")
    }
    err_levy, err_gauss = (float(np.exp(err[k_].mean())) for k_ in ("Lévy SDE", "Gaussian SDE"))
    depths = sorted({g[0] for g in grid})
    pairs = [(g[1], g[2]) for g in grid if g[0] == depths[0]]
    lo = [grid.index((depths[0], e, B)) for e, B in pairs]
    hi = [grid.index((depths[-1], e, B)) for e, B in pairs]
    d_sgd = np.log(m_sgd[hi] / m_sgd[lo])
    se_sgd = np.hypot(se["SGD"][hi] / m_sgd[hi], se["SGD"][lo] / m_sgd[lo])
    mg = np.where(np.isfinite(mean["Gaussian SDE"]), mean["Gaussian SDE"], lb)
    sg = np.where(np.isfinite(se["Gaussian SDE"]), se["Gaussian SDE"], 0.0)
    d_gauss = np.log(mg[hi] / mg[lo])
    se_gauss = np.hypot(sg[hi] / mg[hi], sg[lo] / mg[lo])
    th_g = np.asarray(r["theory_steps"]["Gaussian SDE"], dtype=float)
    kramers = np.log(th_g[hi] / th_g[lo]) >= kramers_log_ratio
    bmin, bmax = min(g[2] for g in grid), max(g[2] for g in grid)
    i_sh = [i for i, g in enumerate(grid) if g[0] == depths[0] and g[2] == bmin]
    z_sh = (m_sgd[i_sh] - mean["Gaussian SDE"][i_sh]) / np.hypot(
        se["SGD"][i_sh], se["Gaussian SDE"][i_sh]
    )
    i_bm = [i for i, g in enumerate(grid) if g[2] == bmax]
    c = r["control"]
    cz = np.abs(np.subtract(c["sgd_mean"], c["gauss_mean"])) / np.hypot(c["sgd_se"], c["gauss_se"])
    sep = (d_gauss - d_sgd)[kramers] > k * np.hypot(se_sgd, se_gauss)[kramers]
    with np.errstate(invalid="ignore"):
        sgd_depth = float(np.exp(d_sgd[kramers].mean())) if kramers.any() else math.nan
        gauss_depth = float(np.exp(d_gauss[kramers].mean())) if kramers.any() else math.nan
    return {
        "err_levy": err_levy,
        "err_gauss": err_gauss,
        "pairs": pairs,
        "d_sgd": d_sgd,
        "se_sgd": se_sgd,
        "d_gauss": d_gauss,
        "se_gauss": se_gauss,
        "kramers": kramers,
        "n_kramers": int(kramers.sum()),
        "z_shallow": z_sh,
        "b_max_ratio": float(np.exp(np.log(m_sgd[i_bm] / mean["Lévy SDE"][i_bm]).mean())),
        "sgd_depth": sgd_depth,
        "gauss_depth": gauss_depth,
        "control_z": cz,
        "sgd_all_escaped": ok_sgd,
        "levy_beats_gaussian": bool(err_levy < err_gauss),
        "depth_separates": bool(sep.all()),
        "gaussian_faster_shallow": bool(np.all(z_sh > k)),
        "control_agrees": bool(np.all(cz < k)),
    }
