"""The registry of experiments: name → module with ``Config`` (profiles), ``run`` and checks.

Modules are imported on first use, so listing the registry stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = ["EXPERIMENTS", "Experiment", "get_experiment"]

#: Registry name → module path. Each module defines ``Config`` (an
#: :class:`~sgdsde.experiments.record.ExperimentConfig` with ``PROFILES``) and ``run``.
EXPERIMENTS: dict[str, str] = {
    "wells": "sgdsde.experiments.wells",
    "deep_linear": "sgdsde.experiments.deep_linear",
    "superposition": "sgdsde.experiments.superposition",
    "grokking": "sgdsde.experiments.grokking",
    "assumptions": "sgdsde.experiments.assumptions",
    "kesten": "sgdsde.experiments.kesten",
    "escape_phase": "sgdsde.experiments.escape_phase",
    "llc_dln": "sgdsde.experiments.llc_dln",
    "ness": "sgdsde.experiments.ness",
    "eos": "sgdsde.experiments.eos",
}


@dataclass(frozen=True)
class Experiment:
    """One registered experiment: ``name``, ``module``, ``Config`` (class) and ``run``.

    Examples
    --------
    >>> e = get_experiment("wells")
    >>> e.name, sorted(e.Config.PROFILES)[:2]
    ('wells', ['ci', 'gpu'])
    """

    name: str
    module: ModuleType
    Config: Any
    run: Callable


def get_experiment(name: str) -> Experiment:
    """The registered experiment ``name``.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.

    Examples
    --------
    >>> get_experiment("welz")
    Traceback (most recent call last):
    ...
    ValueError: unknown experiment 'welz'; choose one of ['assumptions', 'deep_linear', 'eos', 'escape_phase', 'grokking', 'kesten', 'llc_dln', 'ness', 'superposition', 'wells']
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of {sorted(EXPERIMENTS)}")
    mod = importlib.import_module(EXPERIMENTS[name])
    return Experiment(name=name, module=mod, Config=mod.Config, run=mod.run)
