"""Checks of the escape-time experiment: the numbers a chapter asserts, from a ``wells.run`` record."""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..record import Record
from ._experiment import METHODS, Config
from ._fit import StableFit
from ._laws import gaussian_mean_exit_time
from ._potential import DoubleWell

__all__ = ["fits_of", "alpha_separation", "kramers_pairs", "kramers_sigma2_max", "check_escape"]


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
    ``different``: light α̂ − heavy α̂ > k·√(SE² + SE²); ``separated``: both (positive tests).
    ``light_gaussian`` (light α̂ + k·SE ≥ 2: not detectably below the Gaussian value; α̂ is
    clipped at 2) is reported, not part of ``separated``: it is a null test, and the estimator's
    finite-sample bias on light-tailed data can resolve a small gap below 2.

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
    out["separated"] = out["heavy_tailed"] and out["different"]
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
    >>> from sgdsde.experiments.wells import run
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
