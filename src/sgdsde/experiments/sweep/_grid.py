"""Grids of configs: the cartesian product of field values over a named profile."""

from __future__ import annotations

import itertools
from typing import Any

from ..record import ExperimentConfig, _tuplify
from ..registry import Experiment, get_experiment

__all__ = ["grid", "experiment_of"]


def experiment_of(experiment) -> Experiment:
    """``experiment`` as a registered :class:`~sgdsde.experiments.registry.Experiment` (a name
    or an ``Experiment``); an unknown name raises ``ValueError`` listing the known ones."""
    if isinstance(experiment, Experiment):
        return experiment
    if not isinstance(experiment, str):
        raise TypeError(f"experiment must be a registered name; got {type(experiment).__name__}")
    return get_experiment(experiment)


def _coerce(ref, value):
    """One axis value, shaped like the profile's value ``ref`` (int → float, scalar → 1-tuple)."""
    value = _tuplify(value)
    if isinstance(ref, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(ref, tuple) and not isinstance(value, tuple):
        return (value,)
    return value


def grid(experiment, profile: str = "ci", **axes: Any) -> list[ExperimentConfig]:
    """The configs of ``profile`` with every combination of the ``axes`` values replaced.

    Each axis is ``field=[v1, v2, ...]`` (a list or tuple of values, in order); the product runs
    over the axes in the order given, the last one fastest. A value for a tuple field is a tuple
    (a scalar becomes a 1-tuple); an int for a float field becomes a float.

    Raises
    ------
    ValueError
        For an unknown experiment, profile or field (naming it), or an empty axis.

    Examples
    --------
    >>> cs = grid("wells", "ci", chains=[8, 16], seed=[0, 1])
    >>> [(c.chains, c.seed) for c in cs]
    [(8, 0), (8, 1), (16, 0), (16, 1)]
    >>> grid("wells", "ci", lrs=[0.05, (0.1, 0.2)])[0].lrs
    (0.05,)
    >>> grid("wells", "ci", chainz=[1])
    Traceback (most recent call last):
    ...
    ValueError: unknown field(s) ['chainz'] for Config; fields are [...]
    """
    exp = experiment_of(experiment)
    base = exp.Config.profile(profile)
    exp.Config._check_fields(axes)
    names, values = [], []
    for name, vals in axes.items():
        if isinstance(vals, (str, bytes)) or not hasattr(vals, "__iter__"):
            raise ValueError(f"axis {name!r} must be a list of values; got {vals!r}")
        vals = [_coerce(getattr(base, name), v) for v in vals]
        if not vals:
            raise ValueError(f"axis {name!r} has no values")
        names.append(name)
        values.append(vals)
    return [base.replace(**dict(zip(names, combo))) for combo in itertools.product(*values)]
