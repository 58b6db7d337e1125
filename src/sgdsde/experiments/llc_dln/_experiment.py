"""The local learning coefficient along saddle-to-saddle training (notes §3 item 6).

Gradient descent trains a two-layer linear network from a small initialisation on a whitened
teacher (:mod:`sgdsde.experiments.deep_linear`); on each plateau (k modes learnt) and at the
final minimum a checkpoint is taken. At each one: the Hessian and Σ_emp spectra, their
behaviour on the symmetry directions, and two estimates of the local learning coefficient:

* ``llc_point``: λ̂ at the checkpoint itself, on the training data (on a plateau the point is a
  saddle: the localised posterior leans downhill and λ̂ is negative);
* ``llc_rank``: λ̂ at the minimum reached from the checkpoint by GD on the teacher truncated to
  its k learnt modes (noiseless), a point whose true rank is k: Aoyagi's λ(k) applies there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from ...dynamics import SGD, integrate
from ...slt import dln_learning_coefficient, estimate_llc, quadratic_llc
from ..deep_linear import TwoLayerLinear, mode_strengths, whitened_teacher
from ..record import ExperimentConfig, Record, Timer, make_record, resolve_device
from ._geometry import kernel_residuals, spectra

__all__ = ["Config", "PROFILES", "run", "checkpoints", "check_llc"]


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Every parameter of the page (profiles: ``PROFILES``).

    Network ``d_in`` → ``hidden`` → ``d_out``; teacher singular values ``s_values`` (≤ hidden
    of them), ``n_data`` whitened inputs, ``label_noise``; GD step ``lr`` for ``steps`` steps
    from entries N(0, ``init_scale``²), states saved every ``save_every``; ``polish_steps`` of
    GD on the truncated teacher; SGLD: step ``sgld_lr``, ``localization`` γ, β = 1/log n,
    ``chains``, ``draws``, ``burnin``, ``thin``.

    Examples
    --------
    >>> Config.profile("ci").chains, Config.profile("gpu").chains
    (32, 256)
    """

    d_in: int = 4
    hidden: int = 2
    d_out: int = 4
    s_values: tuple = (3.0, 1.5)
    n_data: int = 256
    label_noise: float = 0.3
    lr: float = 0.02
    init_scale: float = 1e-4
    steps: int = 1200
    save_every: int = 5
    polish_steps: int = 400
    sgld_lr: float = 1e-3
    localization: float = 1.0
    chains: int = 32
    draws: int = 200
    burnin: int = 200
    thin: int = 2
    seed: int = 0


#: ``ci``: the page's CPU run; ``gpu``: more data (larger nβ), chains and draws.
PROFILES = {
    "ci": Config(),
    # nβ grows ~10× with n: the step shrinks 10× (same ε·nβ·h, same step bias) and the chains
    # run ~10× longer (draws × thin), so that they cover the same distance along the orbit
    "gpu": Config(
        n_data=4096,
        chains=256,
        sgld_lr=1e-4,
        draws=4000,
        burnin=4000,
        thin=5,
        steps=1500,
    ),
}
Config.PROFILES = PROFILES


def checkpoints(ms: torch.Tensor, s: torch.Tensor) -> list[int]:
    """Index of the middle of each plateau: k = 0, 1, … modes learnt (> 95 % of s), the
    others not started (< 5 %).

    Examples
    --------
    >>> s = torch.tensor([2.0, 1.0])
    >>> ms = torch.tensor([[0.0, 0.0], [0.01, 0.0], [2.0, 0.01], [2.0, 0.0], [2.0, 1.0]])
    >>> checkpoints(ms, s)
    [1, 3, 4]
    """
    learnt = (ms > 0.95 * s).sum(1)
    out = []
    for k in range(s.numel() + 1):
        ok = [
            i
            for i in range(ms.shape[0])
            if int(learnt[i]) == k and bool((ms[i, k:] < 0.05 * s[k:]).all())
        ]
        if not ok:
            raise RuntimeError(f"no plateau with {k} modes learnt: lengthen steps or shrink init")
        out.append(ok[len(ok) // 2])
    return out


def run(config: Config, *, device=None, progress: bool | None = None) -> Record:
    """Train, take the checkpoints and measure them (float64). ``results``: ``s`` (empirical
    singular values of Σ_yx), ``t`` and ``loss`` and ``modes`` along training, and per
    checkpoint ``k``: ``step``, ``H`` and ``Sigma`` eigenvalues, ``kernel`` (see
    ``kernel_residuals``), ``llc_point``/``se_point``,
    ``llc_rank``/``se_rank``, ``aoyagi``, ``quadratic`` (the quadratic prediction at the point
    from its positive Hessian eigenvalues, with the step and localisation biases). Seeds:
    teacher ``seed``, init ``seed + 1``, SGLD ``seed + 10 + k`` and ``seed + 20 + k``.

    Examples
    --------
    >>> rec = run(Config(chains=2, draws=4, burnin=0))
    >>> [c["k"] for c in rec.results["checkpoints"]]
    [0, 1, 2]
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be an llc_dln.Config; got {type(config).__name__}")
    cfg, dev = config, resolve_device(device)
    r = len(cfg.s_values)
    if r > cfg.hidden:
        raise ValueError(f"s_values must hold <= hidden = {cfg.hidden} values; got {r}")
    widths = (cfg.d_in, cfg.hidden, cfg.d_out)
    with Timer(dev) as t:
        X, Y, *_ = whitened_teacher(
            cfg.n_data,
            cfg.d_in,
            cfg.d_out,
            cfg.s_values,
            noise_std=cfg.label_noise,
            seed=cfg.seed,
            device=dev,
        )
        Uf, sf, Vhf = torch.linalg.svd(Y.T @ X / cfg.n_data)
        U, s, V = Uf[:, :r], sf[:r], Vhf[:r].T
        net = TwoLayerLinear(cfg.hidden, X, Y, init_scale=cfg.init_scale, seed=cfg.seed + 1)
        path = integrate(SGD(net, cfg.lr), net.theta0, cfg.steps, save_every=cfg.save_every)
        th = path.theta[:, 0]
        ms = mode_strengths(net.end_to_end(th), U, V)
        idx = checkpoints(ms.cpu(), s.cpu())
        idx[-1] = th.shape[0] - 1  # the last plateau is the minimum: take the final state
        sgld: dict[str, Any] = dict(
            lr=cfg.sgld_lr,
            localization=cfg.localization,
            chains=cfg.chains,
            draws=cfg.draws,
            burnin=cfg.burnin,
            thin=cfg.thin,
        )
        cps = []
        for k, i in enumerate(idx):
            w = th[i]
            sp = spectra(net, w)
            pt = estimate_llc(net, w, seed=cfg.seed + 10 + k, **sgld)
            Yk = X @ ((U[:, :k] * s[:k]) @ V[:, :k].T).T
            netk = TwoLayerLinear(cfg.hidden, X, Yk, theta0=w)
            wk = integrate(SGD(netk, cfg.lr), w, cfg.polish_steps).final[0]
            rk = estimate_llc(netk, wk, seed=cfg.seed + 20 + k, **sgld)
            hpos = sp["H"][sp["H"] > 1e4 * net.d * torch.finfo(w.dtype).eps * sp["H"].abs().max()]
            cps.append(
                {
                    "k": k,
                    "step": int(path.step[i]),
                    "loss": float(net.loss(w)),
                    "H": sp["H"],
                    "Sigma": sp["Sigma"],
                    "kernel": kernel_residuals(net, w),
                    "llc_point": pt.llc,
                    "se_point": pt.se,
                    "llc_rank": rk.llc,
                    "se_rank": rk.se,
                    "aoyagi": float(dln_learning_coefficient(widths, k)),
                    "regular": k * (cfg.d_in + cfg.d_out - k) / 2,
                    "quadratic": quadratic_llc(hpos, pt.nbeta, cfg.localization, cfg.sgld_lr)
                    if bool((sp["H"] >= -1e-8).all())
                    else math.nan,
                    "nbeta": pt.nbeta,
                }
            )
        res = {
            "s": s,
            "t": path.step.double() * cfg.lr,
            "loss": net.loss(th),
            "modes": ms,
            "d": net.d,
            "checkpoints": cps,
        }
    return make_record("llc_dln", cfg, res, dev, t.seconds)


def check_llc(record: Record, *, k: float = 5.0) -> dict:
    """The numbers the page asserts.

    ``rises``: λ̂ at the rank-k minima increases at every transition by more than k combined SE
    (``z_rise``: the smallest z); ``saddles_negative``: λ̂ at every plateau before the last is
    more than k SE below 0 (``z_saddle``: the least negative z); ``z_min_quadratic``: |λ̂ −
    quadratic prediction| / SE at the final minimum; ``sigma_sym``: the largest relative
    ‖Σ_emp Ξ‖ over the checkpoints.

    Examples
    --------
    >>> c = check_llc(run(Config(chains=4, draws=50, burnin=50)))
    >>> sorted(c)[:3]
    ['rises', 'saddles_negative', 'sigma_sym']
    """
    cps = record.results["checkpoints"]
    z_rise = min(
        (b["llc_rank"] - a["llc_rank"]) / math.hypot(a["se_rank"], b["se_rank"])
        for a, b in zip(cps, cps[1:])
    )
    z_saddle = max(c["llc_point"] / c["se_point"] for c in cps[:-1])
    last = cps[-1]
    return {
        "rises": z_rise > k,
        "z_rise": z_rise,
        "saddles_negative": z_saddle < -k,
        "z_saddle": z_saddle,
        "z_min_quadratic": abs(last["llc_point"] - last["quadratic"]) / last["se_point"],
        "sigma_sym": max(c["kernel"]["sigma_sym"] for c in cps),
    }
