"""The deep-linear experiment of notes §4.1 as Config → run → Record → checks.

Plateau (learning) times of gradient descent from small random initialisations against aligned
runs from the same effective initial strengths (the coupling between modes), at two init scales.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ... import sgd
from ...stats import mean_se
from ..record import ExperimentConfig, Record, Timer, make_record, resolve_device
from ._model import (
    TwoLayerLinear,
    aligned_init,
    effective_a0,
    learning_times,
    mode_strengths,
    saxe_time_to,
    whitened_teacher,
)

__all__ = ["Config", "PROFILES", "run", "check_plateaus"]


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Every parameter of the deep-linear chapter (profiles: ``PROFILES``).

    Teacher singular values ``s_values``, sizes ``d_in``, ``d_out``, ``hidden``, ``n_data``; step
    ``lr``; random initialisations of scales ``init_scales`` (``gd_chains`` chains); the SGD/SDE
    part of the chapter: ``batch`` size, ``chains``, ``label_noise``, ``noise_draws``.
    :func:`run` runs the plateau part (teacher, random and aligned GD).

    Examples
    --------
    >>> Config.profile("ci").hidden, Config.profile("gpu").hidden
    (6, 32)
    """

    s_values: tuple = (3.0, 1.5, 0.75)
    d_in: int = 3
    d_out: int = 3
    hidden: int = 6
    n_data: int = 64
    lr: float = 0.02
    init_scales: tuple = (1e-2, 1e-4)
    gd_chains: int = 256
    batch: int = 4
    chains: int = 256
    label_noise: float = 0.3
    noise_draws: int = 200_000
    seed: int = 0


#: ``ci``: the chapter's default CPU run; ``gpu``: a wider network, more data and chains.
PROFILES = {
    "ci": Config(),
    "gpu": Config(
        d_in=8,
        d_out=8,
        hidden=32,
        n_data=1024,
        s_values=(4.0, 3.0, 2.0, 1.0, 0.5),
        gd_chains=1024,
        chains=4096,
    ),
}
Config.PROFILES = PROFILES

#: horizons tried, in units of the slowest predicted time to half strength
HORIZONS = (1.2, 2.0, 4.0)


def run(config: Config, *, device=None, progress: bool | None = None) -> Record:
    """Learning times of GD from random initialisations and from aligned ones of the same
    effective a₀, per init scale (float64). ``results``: ``s_values``, and per scale (key
    ``str(scale)``) ``random`` and ``aligned`` learning times (chains × modes; ``inf`` where a
    mode was not learnt) and ``gap`` = (random − aligned)/aligned. Seeds: teacher ``seed``,
    directions ``seed + 1`` (as in the chapter).

    Examples
    --------
    >>> rec = run(Config(gd_chains=4, init_scales=(1e-2,)))
    >>> len(rec.results["per_scale"]["0.01"]["random"]), rec.experiment
    (4, 'deep_linear')
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a deep_linear.Config; got {type(config).__name__}")
    cfg, dev = config, resolve_device(device)
    f64 = torch.float64
    with Timer(dev) as t:
        X, Y, Us, sv, Vs = whitened_teacher(
            cfg.n_data, cfg.d_in, cfg.d_out, cfg.s_values, seed=cfg.seed, dtype=f64, device=dev
        )
        net = TwoLayerLinear(cfg.hidden, X, Y, seed=cfg.seed + 9)
        gen = torch.Generator().manual_seed(cfg.seed + 1)
        z0 = torch.randn(cfg.gd_chains, net.d, generator=gen, dtype=f64).to(X)
        per_scale = {}
        for sc in cfg.init_scales:
            th0 = sc * z0
            W1r, W2r = net.weights(th0)
            a0 = effective_a0(W1r, W2r, Us, Vs)
            thA = torch.stack(
                [
                    aligned_init(cfg.hidden, Us, Vs, a0[i].cpu(), seed=cfg.seed)
                    for i in range(cfg.gd_chains)
                ]
            ).to(X)
            t_half = float(saxe_time_to(0.5, sv, a0.cpu()).max())
            # horizon: 1.2× the slowest predicted plateau; a random init can be slower than its
            # aligned twin by more than that (seed-dependent), so a run in which some mode is
            # not learnt is repeated with a longer horizon (deterministic: same seeds)
            for factor in HORIZONS:
                steps = int(factor * t_half / cfg.lr)
                tr = sgd.run(net, th0, cfg.lr, None, steps, record_loss=False, seed=cfg.seed)
                trA = sgd.run(net, thA, cfg.lr, None, steps, record_loss=False, seed=cfg.seed)
                tt = tr.step.double() * cfg.lr
                lt = learning_times(tt, mode_strengths(net.end_to_end(tr.theta), Us, Vs).cpu(), sv)
                ltA = learning_times(
                    tt, mode_strengths(net.end_to_end(trA.theta), Us, Vs).cpu(), sv
                )
                if bool(torch.isfinite(lt).all() and torch.isfinite(ltA).all()):
                    break
            per_scale[str(sc)] = {"random": lt, "aligned": ltA, "gap": (lt - ltA) / ltA}
    return make_record("deep_linear", cfg, {"s_values": sv, "per_scale": per_scale}, dev, t.seconds)


def check_plateaus(record: Record, *, k: float = 5.0) -> dict:
    """``all_learnt`` (every learning time finite), ``ordered`` (strongest mode first in every
    chain and scale), and the paired difference of the relative gap between the largest and the
    smallest init scale per mode (``gap_diff``, ``gap_diff_se``, ``gap_shrinks``: > k SE).

    Examples
    --------
    >>> c = check_plateaus(run(Config(gd_chains=4, init_scales=(1e-2, 1e-4))))
    >>> c["all_learnt"], c["ordered"]
    (True, True)
    """
    per = record.results["per_scale"]
    scales = [str(s) for s in record.config["init_scales"]]
    lt = {s: torch.tensor(per[s]["random"], dtype=torch.float64) for s in scales}
    gap = {s: torch.tensor(per[s]["gap"], dtype=torch.float64) for s in scales}
    finite = all(bool(torch.isfinite(v).all()) for v in lt.values())
    ordered = all(bool((v[:, :-1] < v[:, 1:]).all()) for v in lt.values())
    out = {"all_learnt": finite, "ordered": ordered}
    if len(scales) >= 2 and finite:
        m, se = mean_se(gap[scales[0]] - gap[scales[-1]])
        out.update(gap_diff=m, gap_diff_se=se, gap_shrinks=bool((m > k * se).all()))
    return out
