"""The stepper protocol (see :mod:`sgdsde.dynamics.steppers`) and helpers shared by the steppers.

Examples
--------
>>> from sgdsde.dynamics.steppers.base import Stepper
>>> Stepper.weak_order is None
True
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..path import DivergenceError

__all__ = ["Stepper"]


class Stepper:
    """Base class of the steppers (see the module docstring for the protocol).

    Examples
    --------
    >>> import torch
    >>> from sgdsde.dynamics import integrate
    >>> class Halve(Stepper):                       # x_{k+1} = x_k / 2, exact: no order claimed
    ...     def step(self, x, z, k):
    ...         return x / 2
    >>> integrate(Halve(), torch.ones(1), 3).x[:, 0, 0].tolist()
    [1.0, 0.5, 0.25, 0.125]
    """

    weak_order: float | None = None
    strong_order: float | None = None
    graph_safe = False
    records: dict = {}
    checked: tuple = ()

    def draws(self, x: torch.Tensor, steps: int, gen: torch.Generator):
        return None

    def step(self, x: torch.Tensor, z, k: int) -> torch.Tensor:
        raise NotImplementedError

    def error(self, step: int, chains: list, path) -> Exception:
        return DivergenceError(step, chains, path)


class _BatchDraws:
    """Minibatch indices for a chunk of steps: a list of ``(chains, B)`` draws of one sampler."""

    given = None

    def __init__(self, draw: Callable[[], torch.Tensor], chunk: int):
        self.draw, self.chunk = draw, chunk

    def fill(self, n=None):
        return [self.draw() for _ in range(self.chunk if n is None else n)]


def _check_out(name: str, v, shape, dtype, k: int) -> None:
    if not isinstance(v, torch.Tensor):
        raise TypeError(f"{name}(x) must return a torch.Tensor, got {type(v).__name__} (step {k})")
    if v.shape != shape:
        raise ValueError(
            f"{name}(x) returned shape {tuple(v.shape)}, expected {tuple(shape)} (step {k})"
        )
    if v.dtype != dtype:
        raise TypeError(f"{name}(x) returned dtype {v.dtype}, expected {dtype} like the state")
