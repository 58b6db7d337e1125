"""Experiment-specific engines for the research programme of notes §4 (one module per experiment).

* :mod:`sgdsde.experiments.wells` — double-well losses with SGD-type noise, and escape times of SGD,
  the Gaussian SDE and the α-stable (Lévy) SDE from a basin (notes §4, heavy tails);
* :mod:`sgdsde.experiments.deep_linear` — Saxe, McClelland & Ganguli's mode dynamics of deep linear
  networks: closed form, whitened teacher data, mode strengths, plateau times (notes §4.1);
* :mod:`sgdsde.experiments.superposition` — Elhage et al.'s toy model of superposition, many
  instances trained at once, and its feature geometry (notes §4);
* :mod:`sgdsde.experiments.grokking` — modular addition, an MLP and Nanda et al.'s one-layer
  transformer, a training loop that tracks accuracy, loss, the gradient-noise tail index and the
  spectrum of Σ (notes §4);
* :mod:`sgdsde.experiments.escape_phase` — the escape-time phase diagram over barrier × η/B,
  run as a sweep (notes §4);
* :mod:`sgdsde.experiments.sweep` — grids of configs run on a local process pool or a Dask
  cluster, resumable from a JSON-lines results file.
* :mod:`sgdsde.experiments.scales` — the scale profiles (``ci``, ``gpu``) of the foundation
  chapters 02–08, which run no registered experiment.

Every experiment has the same shape (:mod:`sgdsde.experiments.record`): a frozen ``Config`` with
every parameter, ``seed`` included, and named scale profiles defined once as data
(``Config.profile("ci")``, ``Config.profile("gpu", seed=3)``); ``run(config, *, device=None,
progress=None)`` returning a JSON-serialisable :class:`~sgdsde.experiments.record.Record`; and
``check_...(record)`` functions returning the numbers a chapter asserts. The registry
(:mod:`sgdsde.experiments.registry`) names them for the command line::

    python -m sgdsde.experiments NAME [--profile ci|gpu] [--seed N] [--device cpu|cuda]
                                      [--set field=value ...] [--out record.json]

These modules sit above the core floors (they may import ``problems``, ``sampling``, ``sgd``,
``noise``, ``sde``, ``levy``, ``stats``); nothing in the core imports them.
"""

from __future__ import annotations

__all__ = [
    "wells",
    "deep_linear",
    "superposition",
    "grokking",
    "assumptions",
    "escape_phase",
    "sweep",
]
