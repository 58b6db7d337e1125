"""The superposition experiment of notes §4 as Config → run → Record → checks.

A phase diagram (Adam, densities × replicas: how many features are represented and with how many
dimensions each) and a noise test (plain SGD at a fixed step and several batch sizes, densities
around the first transition: does the noise amplitude η/B move the transition?).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from ...stats import mean_se
from ..record import ExperimentConfig, Record, Timer, make_record, resolve_device
from ._model import geometry, train_toy_models

__all__ = ["Config", "PROFILES", "run", "check_superposition"]


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Every parameter of the superposition experiment (profiles: ``PROFILES``).

    ``n_features`` n, ``n_hidden`` m, importances ``importance_decay``^i; the phase diagram trains
    ``replicas`` models per entry of ``densities`` with Adam (``adam_steps``, ``adam_batch``,
    ``adam_lr``, seed ``seed``); the noise test trains ``noise_replicas`` models per entry of
    ``noise_densities`` and per batch size in ``noise_batches`` with SGD (``sgd_lr``,
    ``sgd_steps``, seed ``seed + 1``); ``mc_samples`` sizes the chapter's Monte Carlo loss check.

    Examples
    --------
    >>> Config.profile("ci").densities, Config.profile("gpu").noise_batches
    ((1.0, 0.3, 0.1, 0.03, 0.01), (256, 32, 4, 1))
    """

    n_features: int = 20
    n_hidden: int = 5
    importance_decay: float = 0.9
    densities: tuple = (1.0, 0.3, 0.1, 0.03, 0.01)
    replicas: int = 2
    adam_steps: int = 2000
    adam_batch: int = 128
    adam_lr: float = 1e-2
    noise_densities: tuple = (0.9, 0.7, 0.5, 0.4, 0.3)
    noise_replicas: int = 8
    sgd_lr: float = 0.05
    sgd_steps: int = 3000
    noise_batches: tuple = (32, 2)
    mc_samples: int = 200_000
    seed: int = 0


#: ``ci``: the chapter's default CPU run; ``gpu``: the paper's sizes and a finer density grid;
#: ``medium``: more replicas, steps and batch sizes than ``ci``, minutes on one CPU core.
PROFILES = {
    "ci": Config(),
    "gpu": Config(
        densities=tuple(round(10 ** (-2.5 * i / 11), 6) for i in range(12)),
        replicas=8,
        adam_steps=10_000,
        adam_batch=1024,
        noise_replicas=64,
        sgd_steps=20_000,
        noise_batches=(256, 32, 4, 1),
    ),
    # between the two: runs on one CPU core in minutes (its record is shown beside the CI run)
    "medium": Config(
        replicas=4,
        adam_steps=4000,
        noise_replicas=32,
        sgd_steps=4000,
        noise_batches=(32, 8, 2),
    ),
}
Config.PROFILES = PROFILES


def run(config: Config, *, device=None, progress: bool | None = None) -> Record:
    """Train the phase diagram and the noise test of ``config``.

    ``results``: ``adam`` with ``represented``, ``dims_per_feature`` (densities × replicas) and
    ``dimensionality`` (densities × replicas × n); ``sgd`` with, per batch size (key ``str(B)``),
    ``represented`` and ``dims_per_feature`` (noise densities × noise replicas).

    Examples
    --------
    >>> cfg = Config(densities=(1.0, 0.1), replicas=1, adam_steps=50, noise_densities=(0.5,),
    ...              noise_replicas=2, sgd_steps=50, noise_batches=(8, 2))
    >>> rec = run(cfg)
    >>> len(rec.results["adam"]["represented"]), sorted(rec.results["sgd"])
    (2, ['2', '8'])
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a superposition.Config; got {type(config).__name__}")
    cfg, dev = config, resolve_device(device)
    imp = cfg.importance_decay ** torch.arange(cfg.n_features, dtype=torch.float32)
    common: dict[str, Any] = dict(importance=imp, device=dev, progress=progress)
    nd, nr = len(cfg.densities), cfg.replicas
    with Timer(dev) as t:
        dens = torch.tensor(cfg.densities, dtype=torch.float32).repeat_interleave(nr)
        adam = train_toy_models(
            cfg.n_features,
            cfg.n_hidden,
            dens,
            steps=cfg.adam_steps,
            batch_size=cfg.adam_batch,
            lr=cfg.adam_lr,
            optimizer="adam",
            seed=cfg.seed,
            **common,
        )
        geo = geometry(adam.W.cpu())
        dn = torch.tensor(cfg.noise_densities, dtype=torch.float32)
        dn = dn.repeat_interleave(cfg.noise_replicas)
        sgd = {}
        for B in cfg.noise_batches:
            r = train_toy_models(
                cfg.n_features,
                cfg.n_hidden,
                dn,
                steps=cfg.sgd_steps,
                batch_size=B,
                lr=cfg.sgd_lr,
                optimizer="sgd",
                seed=cfg.seed + 1,
                **common,
            )
            g = geometry(r.W.cpu())
            shape = (len(cfg.noise_densities), cfg.noise_replicas)
            sgd[str(B)] = {
                "represented": g["represented"].reshape(shape),
                "dims_per_feature": g["dims_per_feature"].reshape(shape),
            }
    results = {
        "adam": {
            "represented": geo["represented"].reshape(nd, nr),
            "dims_per_feature": geo["dims_per_feature"].reshape(nd, nr),
            "dimensionality": geo["dimensionality"].reshape(nd, nr, cfg.n_features),
        },
        "sgd": sgd,
    }
    return make_record("superposition", cfg, results, dev, t.seconds)


def check_superposition(record: Record, *, k: float = 5.0) -> dict:
    """The numbers the chapter asserts, from a :func:`run` record.

    ``dense_dedicated``: at the first (densest) density every model represents exactly m features,
    each with one dimension (|D* − 1| < 0.02); ``sparse_superposed``: at the last density every
    model represents more than m; ``dpf_decreasing``: the mean dimensions per feature fall with
    density; ``transition_everywhere``: at every batch size the noise test goes from at most m to
    about 2m features; ``shift``, ``bound`` (|shift| + k SE), ``sparsity_effect`` and
    ``noise_bounded`` (every bound below the sparsity effect) compare the quietest and noisiest SGD.

    Examples
    --------
    >>> cfg = Config(densities=(1.0, 0.1), replicas=1, adam_steps=50, noise_densities=(0.5,),
    ...              noise_replicas=2, sgd_steps=50, noise_batches=(8, 2))
    >>> sorted(check_superposition(run(cfg)))[:3]
    ['bound', 'dense_dedicated', 'dims_per_feature']
    """
    r, cfg = record.results, record.config
    m = cfg["n_hidden"]
    rep = torch.tensor(r["adam"]["represented"], dtype=torch.float64)
    dpf = torch.tensor(r["adam"]["dims_per_feature"], dtype=torch.float64)
    D = {
        int(B): torch.tensor(v["dims_per_feature"], dtype=torch.float64)
        for B, v in r["sgd"].items()
    }
    R = {int(B): torch.tensor(v["represented"], dtype=torch.float64) for B, v in r["sgd"].items()}
    quiet, noisy = max(D), min(D)
    (m_lo, s_lo), (m_hi, s_hi) = mean_se(D[quiet], dim=1), mean_se(D[noisy], dim=1)
    shift = m_hi - m_lo
    se = torch.hypot(s_lo, s_hi)
    bound = shift.abs() + k * se
    effect = float(m_lo[0] - m_lo[-1])
    return {
        "represented": rep,
        "dims_per_feature": dpf,
        "shift": shift,
        "z": shift.abs() / se,
        "bound": bound,
        "sparsity_effect": effect,
        "dense_dedicated": bool((rep[0] == m).all()) and bool(((dpf[0] - 1).abs() < 0.02).all()),
        "sparse_superposed": bool((rep[-1] > m).all()),
        "dpf_decreasing": bool((dpf.mean(1)[1:] < dpf.mean(1)[:-1]).all()),
        "transition_everywhere": all(
            float(R[B][0].mean()) < m + 1 and float(R[B][-1].mean()) > 2 * m - 1 for B in R
        ),
        "noise_bounded": bool((bound < effect).all()) and math.isfinite(effect),
    }
