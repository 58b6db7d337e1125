"""The edge-of-stability experiment as Config → run → Record."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ... import curvature, sgd
from ...dynamics import CentralFlow, integrate
from ..record import ExperimentConfig, Record, Timer, make_record, resolve_device
from ._model import edge_toy, mlp_problem, teacher_data

__all__ = ["Config", "PROFILES", "run"]


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Every parameter of the edge-of-stability chapter (profiles: ``PROFILES``).

    Data: ``n_data`` points in ``d_in`` dimensions from a tanh teacher of ``teacher_width``;
    student: tanh MLP, ``depth`` hidden layers of ``width``. The step sizes are set from the
    initial sharpness S₀ so that GD starts at a chosen fraction of its edge: plain GD at
    η = f·2/S₀ for each f of ``lr_fractions``, for ``steps`` steps, the sharpness every
    ``record_every`` steps (``eig_iters`` warm-started Lanczos iterations); heavy ball with
    ``momentum`` μ at η = ``momentum_fraction``·(2 + 2μ)/S₀; the central flow at
    η = ``cf_fraction``·2/S₀ for ``cf_steps`` GD steps with Euler step ``cf_dt`` (in GD steps, ``cf_eig_iters``
    Lanczos iterations per step), against GD and gradient flow from the same start. The
    two-parameter model :func:`edge_toy` at each ``toy_c``: GD at ``toy_lr`` for ``toy_steps``
    (statistics over the last ``toy_window``) and the central flow for ``toy_cf_steps``.

    Examples
    --------
    >>> Config.profile("ci").width < Config.profile("gpu").width
    True
    """

    n_data: int = 100
    d_in: int = 5
    teacher_width: int = 16
    width: int = 16
    depth: int = 2
    lr_fractions: tuple = (0.6, 0.7, 0.8)
    steps: int = 400
    record_every: int = 5
    eig_iters: int = 6
    momentum: float = 0.5
    momentum_fraction: float = 0.6
    cf_fraction: float = 0.8
    cf_steps: int = 100
    cf_dt: float = 0.25
    cf_eig_iters: int = 3
    toy_c: tuple = (2.2, 2.35, 2.5, 3.0)
    toy_lr: float = 0.25
    toy_steps: int = 1200
    toy_window: int = 200
    toy_cf_steps: int = 40
    seed: int = 0


#: ``ci``: the chapter's default CPU run (d = 385); ``gpu``: a wider, deeper net, longer runs.
PROFILES = {
    "ci": Config(),
    "gpu": Config(
        n_data=1000,
        d_in=10,
        teacher_width=32,
        width=64,
        depth=3,
        lr_fractions=(0.4, 0.55, 0.7, 0.85),
        steps=5000,
        record_every=10,
        eig_iters=10,
        momentum_fraction=0.5,
        cf_fraction=0.7,
        cf_steps=2000,
        cf_dt=0.125,
        cf_eig_iters=6,
        toy_c=(2.1, 2.2, 2.3, 2.35, 2.4, 2.45, 2.5, 2.6, 2.8, 3.0),
        toy_steps=20000,
        toy_window=5000,
        toy_cf_steps=200,
    ),
}
Config.PROFILES = PROFILES


def _gd(p, lr, steps, every, mu, iters, seed):
    tr = sgd.run(p, None, lr, None, steps, momentum=mu, record_every=every, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    S, _ = curvature.track_sharpness(p, tr.theta[:, 0], iters, generator=gen)
    return tr, {
        "lr": lr,
        "momentum": mu,
        "step": tr.step,
        "loss": tr.loss[:, 0],
        "sharpness": S,
        "w_final": tr.final[0],
    }


def _toy(c, cfg):
    """GD and the central flow on :func:`edge_toy` with parameter c, from w = (0.05, w₂* − 1)."""
    p, eta = edge_toy(c), cfg.toy_lr
    w2s = math.log(2 / eta)
    w0 = torch.tensor([0.05, w2s - 1.0], dtype=torch.float64)
    w = sgd.run(p, w0, eta, None, cfg.toy_steps, record_loss=False).theta[-cfg.toy_window :, 0]
    n = round(cfg.toy_cf_steps / cfg.cf_dt)
    pc = integrate(CentralFlow(p, eta, cfg.cf_dt, eig_iters=2), w0, n, save_every=n)
    return {
        "c": c,
        "lr": eta,
        "sigma2_closed_form": eta * (c - w2s),
        "w2_closed_form": w2s,
        "cf_sigma2": float(pc.extra["sigma2"][-1, 0]),
        "cf_w2": float(pc.x[-1, 0, 1]),
        "gd_w1sq_mean": float((w[:, 0] ** 2).mean()),
        "gd_w1sq_sd": float((w[:, 0] ** 2).std()),
        "gd_w2_mean": float(w[:, 1].mean()),
        "gd_period2": bool(torch.allclose(w[2:], w[:-2], rtol=1e-9, atol=1e-12)),
    }


def run(config: Config, *, device=None, progress: bool | None = None) -> Record:
    """GD at each η, heavy ball, and the central flow against GD and gradient flow (float64).

    ``results``: ``d``; ``S0`` (the initial sharpness); ``gd`` (one entry per η: ``step``, ``loss``, ``sharpness``);
    ``momentum`` (the same for heavy ball); ``central``: per GD step t, the central flow's
    ``loss``, ``sharpness``, ``sigma2``, ``predicted_loss``; GD's ``gd_loss``; the distances
    ``dist_cf`` = ‖w_GD − w_CF‖, ``dist_cf_avg`` = ‖w̄_GD − w_CF‖ (w̄ the mean of two consecutive
    iterates), ``dist_gf`` = ‖w_GD − w_GF‖ (gradient flow), GD's and gradient flow's sharpness
    every ``record_every`` steps (``gd_sharpness_step``, ``gd_sharpness``, ``gf_sharpness``);
    ``cf_sharpness_check``: S of the flow's states every ``record_every`` steps by 3× the
    Lanczos iterations; ``toy``: per c, the closed forms, the central flow's σ² and w₂ and GD's mean w₁², its spread
    and mean w₂ over the last ``toy_window`` steps, and whether GD sits on a period-2 orbit. Seeds: data ``seed``,
    network ``seed + 1``, Lanczos starts ``seed + 2``.

    Examples
    --------
    >>> rec = run(Config(n_data=20, width=4, teacher_width=4, lr_fractions=(0.5,), steps=20,
    ...                  cf_steps=6, record_every=10, toy_c=(2.2,), toy_steps=10,
    ...                  toy_window=4, toy_cf_steps=2))
    >>> rec.results["d"], len(rec.results["gd"]), len(rec.results["central"]["loss"])
    (49, 1, 7)
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be an eos.Config; got {type(config).__name__}")
    cfg, dev = config, resolve_device(device)
    with Timer(dev) as timer:
        X, y = teacher_data(cfg.n_data, cfg.d_in, cfg.teacher_width, seed=cfg.seed)
        p = mlp_problem(X.to(dev), y.to(dev), cfg.width, cfg.depth, seed=cfg.seed + 1)
        s2 = cfg.seed + 2
        S0, _ = curvature.lanczos(p, p.theta0, 40, generator=torch.Generator().manual_seed(s2))
        lrs = [f * 2 / S0 for f in cfg.lr_fractions]
        gd = [_gd(p, lr, cfg.steps, cfg.record_every, 0.0, cfg.eig_iters, s2)[1] for lr in lrs]
        mu = cfg.momentum
        lr_m = cfg.momentum_fraction * (2 + 2 * mu) / S0
        mom = _gd(p, lr_m, cfg.steps, cfg.record_every, mu, cfg.eig_iters, s2)[1]
        lr_c = cfg.cf_fraction * 2 / S0
        # central flow vs GD vs gradient flow, all from θ₀, on the time axis of GD steps
        n_cf = round(cfg.cf_steps / cfg.cf_dt)
        every = round(1 / cfg.cf_dt)
        cf = CentralFlow(p, lr_c, cfg.cf_dt, eig_iters=cfg.cf_eig_iters, seed=s2)
        pc = integrate(cf, p.theta0, n_cf, save_every=every)
        # gradient flow by Euler steps of dt GD steps: GD with step η·dt
        pg = sgd.run(p, None, lr_c * cfg.cf_dt, None, n_cf, record_every=every, seed=cfg.seed)
        tr = sgd.run(p, None, lr_c, None, cfg.cf_steps + 1, seed=cfg.seed)
        wg = tr.theta[:, 0]
        wbar = 0.5 * (wg[:-1] + wg[1:])
        wc, wf = pc.x[:, 0], pg.theta[:, 0]
        k = cfg.record_every
        Sg, _ = curvature.track_sharpness(
            p,
            wg[: cfg.cf_steps + 1 : k],
            cfg.eig_iters,
            generator=torch.Generator().manual_seed(s2),
        )
        # the flow's states re-checked with 3× the iterations: a second eigenvalue at 2/η shows
        Sc, _ = curvature.track_sharpness(
            p, wc[::k], 3 * cfg.eig_iters, generator=torch.Generator().manual_seed(s2)
        )
        Sf, _ = curvature.track_sharpness(
            p, wf[::k], cfg.eig_iters, generator=torch.Generator().manual_seed(s2)
        )
        assert pc.loss is not None and pg.loss is not None and tr.loss is not None
        central = {
            "lr": lr_c,
            "t": pc.t,
            "loss": pc.loss[:, 0],
            "sharpness": pc.extra["sharpness"][:, 0],
            "sigma2": pc.extra["sigma2"][:, 0],
            "predicted_loss": pc.extra["predicted_loss"][:, 0],
            "gf_loss": pg.loss[:, 0],
            "gf_sharpness": Sf,
            "cf_sharpness_check": Sc,
            "gd_loss": tr.loss[: cfg.cf_steps + 2, 0],
            "dist_cf": (wg[: wc.shape[0]] - wc).norm(dim=-1),
            "dist_cf_avg": (wbar[: wc.shape[0]] - wc).norm(dim=-1),
            "dist_gf": (wg[: wf.shape[0]] - wf).norm(dim=-1),
            "gd_move": (wg[: wc.shape[0]] - wg[0]).norm(dim=-1),
            "gd_sharpness_step": list(range(0, cfg.cf_steps + 1, k)),
            "gd_sharpness": Sg,
        }
        toy = [_toy(c, cfg) for c in cfg.toy_c]
    results = {"d": p.d, "S0": S0, "gd": gd, "momentum": mom, "central": central, "toy": toy}
    return make_record("eos", cfg, results, dev, timer.seconds)
