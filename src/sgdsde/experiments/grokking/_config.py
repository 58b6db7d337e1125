"""Settings of a grokking run: :class:`GrokConfig` and its named profiles."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from ..record import ExperimentConfig

__all__ = ["GrokConfig", "CONFIGS", "PROFILES"]


@dataclass(frozen=True)
class GrokConfig(ExperimentConfig):
    """Settings of one grokking run (see ``CONFIGS`` for the named ones).

    ``steps`` counts optimiser steps (= epochs for full batch); ``batch_size=None`` is full batch;
    ``optimizer`` is ``"adamw"`` (``betas``, decoupled ``weight_decay``) or ``"sgd"``
    (``momentum``, L2 ``weight_decay``); ``warmup`` linear learning-rate warm-up steps. Noise
    statistics use a fixed subsample of ``noise_samples`` training examples, batches of
    ``noise_batch`` and ``noise_draws`` noise vectors, every ``noise_every`` steps (0 = never).
    ``stop_test_loss``: stop at the first log step whose test loss is below it (None = run all
    ``steps``). ``compare_runs`` and ``compare_batch``: the chapter's full-batch vs minibatch
    comparison (runs ``seed + 1`` … ``seed + compare_runs``, minibatches of ``compare_batch``);
    not used by one run. Profiles: ``PROFILES`` (``GrokConfig.profile(name)``).

    Examples
    --------
    >>> cfg = GrokConfig(p=7, steps=5)
    >>> cfg.model, cfg.batch_size is None, CONFIGS["nanda"].p
    ('mlp', True, 113)
    """

    name: str = "cpu"
    p: int = 23
    frac_train: float = 0.5
    model: str = "mlp"
    d_embed: int = 32
    hidden: int = 128
    activation: str = "quadratic"
    embed_std: float | None = None
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    optimizer: str = "adamw"
    lr: float = 1e-2
    weight_decay: float = 1.0
    betas: tuple = (0.9, 0.98)
    momentum: float = 0.0
    batch_size: int | None = None
    steps: int = 1500
    warmup: int = 10
    log_every: int = 25
    noise_every: int = 100
    noise_samples: int = 128
    noise_batch: int = 16
    noise_draws: int = 256
    eig_k: int = 8
    seed: int = 0
    data_seed: int = 0
    loss_float64: bool = True
    stop_test_loss: float | None = None
    compare_runs: int = 3
    compare_batch: int = 32

    #: Fields one run never reads (the chapter's comparison): a record's config may lack them.
    NOT_IN_RUN: ClassVar[tuple[str, ...]] = ("compare_runs", "compare_batch")

    def __post_init__(self):
        # the counts a run loops over: a clear error instead of a silent non-run or a late crash
        for name, low in (
            ("steps", 0),
            ("log_every", 1),
            ("noise_every", 0),
            ("noise_samples", 1),
            ("noise_batch", 1),
            ("noise_draws", 1),
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name} must be an int >= {low}; got {v!r}")


#: Named configurations. ``cpu``: an MLP (quadratic activation, Gromov-style) on p = 23 with half
#: the pairs for training; it memorises in ~25 full-batch AdamW steps and groks after ~1000. ``nanda``: Nanda et al. (2023) — p = 113, one-layer transformer d = 128,
#: 4 heads, MLP 512, full-batch AdamW (lr 1e-3, wd 1, betas 0.9/0.98), 30 % training pairs,
#: 12000 epochs (the recorded run's test loss falls below 1 at epoch 10,900; 10000 would stop
#: before it).
CONFIGS: dict[str, GrokConfig] = {
    "cpu": GrokConfig(),
    "cpu_minibatch": GrokConfig(name="cpu_minibatch", batch_size=32),
    "nanda": GrokConfig(
        name="nanda",
        p=113,
        frac_train=0.3,
        model="transformer",
        activation="relu",
        lr=1e-3,
        weight_decay=1.0,
        betas=(0.9, 0.98),
        steps=12000,
        log_every=100,
        noise_every=500,
        noise_samples=256,
        noise_batch=64,
        noise_draws=256,
        eig_k=16,
    ),
}
# The same run with minibatches of 512 (the SGD variant of the recorded GPU run).
CONFIGS["nanda_minibatch"] = dataclasses.replace(
    CONFIGS["nanda"], name="nanda_minibatch", batch_size=512
)
# Nanda et al.'s setting with half of the pairs for training (groks within 1000 epochs); the name
# stays "nanda", as in its recorded run (chapters/data/18_grokking/nanda_frac50.json).
CONFIGS["nanda_frac50"] = dataclasses.replace(CONFIGS["nanda"], frac_train=0.5, steps=3000)

#: Scale profiles: ``ci`` is the chapter's default CPU run (the ``cpu`` MLP, 2500 steps, noise
#: statistics every 50), ``gpu`` Nanda et al.'s transformer (``nanda``, 16 comparison runs); every
#: named configuration of ``CONFIGS`` is a profile too.
PROFILES: dict[str, GrokConfig] = {
    "ci": dataclasses.replace(CONFIGS["cpu"], steps=2500, noise_every=50),
    "gpu": dataclasses.replace(CONFIGS["nanda"], compare_runs=16),
    **CONFIGS,
}
GrokConfig.PROFILES = PROFILES
