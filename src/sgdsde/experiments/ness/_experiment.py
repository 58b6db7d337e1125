"""Config, profiles and run of the 2-D non-equilibrium experiment."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ... import sde, sgd
from ...fokker_planck import solve_stationary_2d
from ...nonequilibrium import (
    SmallNoiseExpansion,
    cell_current,
    cell_mass,
    current_curl,
    symmetric_current,
)
from ...potentials import EmpiricalCovarianceField, GradientDrift
from ...problems import warped_plane_loss
from ..record import ExperimentConfig, Timer, make_record, resolve_device

__all__ = ["Config", "PROFILES", "run"]


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Parameters of the 2-D non-equilibrium experiment.

    ``lr`` η and ``batch_size`` B (ε = η/B); the solver's grid of ``grid_n``² cells on
    [−``box``, ``box``]²; ``chains`` independent chains of SGD and of the SDE (Euler–Maruyama with
    ``sde_substeps`` steps per SGD step), run ``burn`` SGD steps from the minimum and then
    ``window`` more steps recorded at every step (SDE: every η; Euler–Maruyama at the two
    ``sde_substeps`` m, 2m per η, extrapolated to dt → 0); the current estimator's lag
    ``lag`` (in steps of η) with a Richardson step at 2·lag; the expansion's ε values ``eps_list``
    on a grid of ``exp_grid_n``² cells covering ±``exp_box`` standard deviations.

    Examples
    --------
    >>> Config.profile("ci").chains, Config.profile("gpu").grid_n
    (12000, 256)
    """

    lr: float = 0.1
    batch_size: int = 1
    grid_n: int = 128
    box: float = 1.3
    chains: int = 12_000
    burn: int = 100
    window: int = 48
    sde_substeps: tuple = (2, 4)
    lag: int = 1
    eps_list: tuple = (0.0125, 0.025, 0.05, 0.1)
    exp_grid_n: int = 120
    exp_box: float = 6.0
    seed: int = 0


#: ``ci``: the chapter's CPU default; ``gpu``: finer grids, 60× the chains, a longer window.
PROFILES = {
    "ci": Config(),
    "gpu": Config(
        grid_n=256,
        chains=1_000_000,
        window=100,
        sde_substeps=(4, 8),
        exp_grid_n=240,
        eps_list=(0.003125, 0.00625, 0.0125, 0.025, 0.05, 0.1),
    ),
}
Config.PROFILES = PROFILES


def _quadrants(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(4, ...) masks of the quadrants ++, −+, −−, +− (counter-clockwise from the first)."""
    return torch.stack([(x > 0) & (y > 0), (x < 0) & (y > 0), (x < 0) & (y < 0), (x > 0) & (y < 0)])


def _mc(x: torch.Tensor, dt: float, lag: int) -> dict:
    """Quadrant masses, second moments and quadrant currents from saved states ``(T, N, 2)``."""
    T, N = x.shape[0], x.shape[1]
    times = list(range(2 * lag, T - 2 * lag))
    xs = x[times]
    inside = _quadrants(xs[..., 0], xs[..., 1])  # (4, K, N)
    mass = inside.double().mean(1)  # per chain, averaged over the window: (4, N)
    mom = torch.stack([xs[..., 0] ** 2, xs[..., 0] * xs[..., 1], xs[..., 1] ** 2]).mean(1)
    est = symmetric_current(x, times, lag, inside, dt)
    return {
        "mass": mass.mean(1),
        "mass_se": mass.std(1) / math.sqrt(N),
        "moments": mom.mean(1),
        "moments_se": mom.std(1) / math.sqrt(N),
        "current": est.value,
        "current_se": est.se,
        "times": len(times),
    }


def _richardson(coarse: dict, fine: dict) -> dict:
    """2·fine − coarse (dt halved: the O(dt) bias of Euler–Maruyama cancels), independent SEs."""
    out = {"coarse": coarse, "fine": fine, "times": fine["times"]}
    for k in ("mass", "moments", "current"):
        out[k] = 2 * fine[k] - coarse[k]
        out[k + "_se"] = (4 * fine[k + "_se"] ** 2 + coarse[k + "_se"] ** 2).sqrt()
    return out


def run(cfg: Config, device=None, progress=None):
    """Solve, simulate and expand; return a :class:`~sgdsde.experiments.record.Record`.

    ``progress`` (bool or None) is passed to :func:`sgdsde.sgd.run`.

    Examples
    --------
    >>> rec = run(Config.profile("ci", chains=64, burn=4, window=6, eps_list=(0.05, 0.1)))
    >>> sorted(rec.results)[:4], len(rec.results["solver"]["mass"])
    (['eps', 'expansion', 'grid', 'sde'], 4)
    """
    dev = resolve_device(device)
    f64 = torch.float64
    q = warped_plane_loss()
    eps = cfg.lr / cfg.batch_size
    z = torch.zeros(2, dtype=f64)
    with Timer(dev) as t:
        h = 2 * cfg.box / cfg.grid_n
        g = torch.linspace(-cfg.box + h / 2, cfg.box - h / 2, cfg.grid_n, dtype=f64)
        res = solve_stationary_2d(GradientDrift(q), EmpiricalCovarianceField(q, z, eps), g, g)
        Y, X = torch.meshgrid(g, g, indexing="ij")
        quads = _quadrants(X, Y)
        w = res.p * res.hx * res.hy
        solver = {
            "mass": [cell_mass(res, m) for m in quads],
            "current": torch.stack([cell_current(res, m) for m in quads]),
            "moments": [
                float((w * X * X).sum()),
                float((w * X * Y).sum()),
                float((w * Y * Y).sum()),
            ],
            "mean": [float((w * X).sum()), float((w * Y).sum())],
            "residual": res.residual,
            "peclet": res.peclet,
        }
        grid = {"x": g, "p": res.p, "j": res.j, "curl": current_curl(res)}
        # -- Monte Carlo: independent chains from θ* = 0, a recorded window after burn-in ------
        x0 = torch.zeros(cfg.chains, 2, dtype=f64, device=dev)
        qd = q if dev.type == "cpu" else warped_plane_loss(dtype=f64)
        tr = sgd.run(
            qd,
            x0,
            cfg.lr,
            cfg.batch_size,
            cfg.burn,
            chains=cfg.chains,
            seed=cfg.seed,
            record_every=cfg.burn,
            record_loss=False,
            progress=progress,
        )
        tr = sgd.run(
            qd,
            tr.theta[-1],
            cfg.lr,
            cfg.batch_size,
            cfg.window,
            seed=cfg.seed + 1,
            record_every=1,
            record_loss=False,
            progress=progress,
        )
        sgd_mc = _mc(tr.theta.double().cpu(), cfg.lr, cfg.lag)
        sde_runs = []
        for k, m in enumerate(cfg.sde_substeps):  # Euler–Maruyama at dt = η/m, m in (m₁, 2m₁)
            pa = sde.sgd_sde(
                qd,
                x0,
                cfg.lr,
                cfg.batch_size,
                cfg.burn * m,
                dt=cfg.lr / m,
                chains=cfg.chains,
                seed=cfg.seed + 2 + 2 * k,
                save_every=cfg.burn * m,
            )
            pa = sde.sgd_sde(
                qd,
                pa.x[-1],
                cfg.lr,
                cfg.batch_size,
                cfg.window * m,
                dt=cfg.lr / m,
                seed=cfg.seed + 3 + 2 * k,
                save_every=m,
            )
            sde_runs.append(_mc(pa.x.double().cpu(), cfg.lr, cfg.lag))
        sde_mc = _richardson(*sde_runs)
        # -- small-η expansion against the solver at several ε ------------------------------------
        H, T = q.hessian(z), torch.func.jacfwd(q.hessian)(z)
        field = EmpiricalCovarianceField(q, z)
        ex = SmallNoiseExpansion(H, T, field(z), torch.func.jacfwd(field)(z))
        errs_g, errs_c = [], []
        for e in cfg.eps_list:
            sd = math.sqrt(e * float(ex.S.diagonal().max()))
            W = cfg.exp_box * sd
            he = 2 * W / cfg.exp_grid_n
            ge = torch.linspace(-W + he / 2, W - he / 2, cfg.exp_grid_n, dtype=f64)
            r = solve_stationary_2d(GradientDrift(q), EmpiricalCovarianceField(q, z, e), ge, ge)
            Ye, Xe = torch.meshgrid(ge, ge, indexing="ij")
            pts = torch.stack([Xe, Ye], -1)
            errs_g.append(float((r.p - ex.density(pts, e, corrected=False)).abs().sum() * he * he))
            errs_c.append(float((r.p - ex.density(pts, e)).abs().sum() * he * he))
        expansion = {
            "eps": list(cfg.eps_list),
            "l1_gauss": errs_g,
            "l1_corrected": errs_c,
            "S": ex.S,
            "coef": ex.coef,
            "monomials": ex.monomials,
            "residual": ex.residual,
            "H": H,
            "T": T,
            "Sigma0": field(z),
            "Sigma1": torch.func.jacfwd(field)(z),
        }
    results = {
        "solver": solver,
        "grid": grid,
        "sgd": sgd_mc,
        "sde": sde_mc,
        "expansion": expansion,
        "eps": eps,
    }
    return make_record("ness", cfg, results, dev, t.seconds)
