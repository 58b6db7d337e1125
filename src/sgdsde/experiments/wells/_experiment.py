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

import torch

from ...levy import symmetric_stable
from ...noise import sample_batch_grads
from ..record import ExperimentConfig, Record, Timer, make_record, resolve_device
from ._escape import escape_times
from ._fit import fit_stable
from ._laws import gaussian_mean_exit_time, levy_mean_exit_time
from ._potential import DoubleWell, WellProblem, well_problem

__all__ = ["Config", "PROFILES", "run", "heavy_data", "METHODS"]

#: The three dynamics compared, in the order of the record's tables.
METHODS = ("SGD", "Gaussian SDE", "Lévy SDE")


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Every parameter of the escape-time experiment (profiles: ``PROFILES``).

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
