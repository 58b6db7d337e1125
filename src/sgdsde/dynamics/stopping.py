"""Stopping rules for :func:`~sgdsde.dynamics.core.integrate`.

* :class:`Horizon`: run every chain for the given number of steps (the default).
* :class:`FirstExit`: also stop each chain at the first step its state is outside a set (first
  passage); the exit step of every chain is recorded in ``Path.exit_step`` (−1: censored, still
  inside at the horizon, ``Path.censored``). A stopped chain stays at its exit state. With
  ``compact_every`` the stopped chains are also removed from the ensemble every that many steps
  (the work then shrinks as chains leave), and the run ends early once every chain has stopped.

Divergence (a non-finite state) is the third rule, set by ``integrate(on_divergence=...)``:
``"raise"`` a :class:`~sgdsde.dynamics.path.DivergenceError` naming the first bad step and the
chains, or ``"flag"`` them, freeze them at their last finite state and go on.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._validate import check_int

__all__ = ["Horizon", "FirstExit"]


class Horizon:
    """Run every chain for the full number of steps (no other stopping rule).

    Examples
    --------
    >>> import torch
    >>> from sgdsde.dynamics import integrate, EulerMaruyama
    >>> em = EulerMaruyama(lambda x: -x, 1.0, 0.1)
    >>> integrate(em, torch.zeros(1), 5, stop=Horizon()).step.tolist()
    [0, 1, 2, 3, 4, 5]
    """

    exits = False


class FirstExit:
    """Stop each chain at its first step outside a set; record that step (first passage).

    Parameters
    ----------
    outside : callable ``(x, ids) -> BoolTensor (active,)``
        True where a state is outside the set. ``x`` ``(active, d)`` holds the states of the
        chains still running and ``ids`` their indices in the ensemble (for per-chain sets).
    compact_every : int ≥ 1, optional
        Drop stopped chains from the ensemble every this many steps (None: keep them, frozen).

    Examples
    --------
    >>> import torch
    >>> from sgdsde.dynamics import integrate, EulerMaruyama
    >>> drift = EulerMaruyama(lambda x: torch.ones_like(x), 0.0, 0.1)   # x_k = x_0 + k dt
    >>> path = integrate(drift, torch.tensor([[0.0], [0.55]]), 10,
    ...                  stop=FirstExit(lambda x, ids: x[:, 0] >= 0.92))
    >>> path.exit_step.tolist(), path.censored.tolist(), [round(v, 4) for v in path.final[:, 0].tolist()]
    ([10, 4], [False, False], [1.0, 0.95])
    """

    exits = True

    def __init__(
        self,
        outside: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        compact_every: int | None = None,
    ):
        if not callable(outside):
            raise TypeError("outside must be a callable (x, ids) -> BoolTensor of shape (chains,)")
        self.outside = outside
        self.compact_every = (
            None if compact_every is None else check_int("compact_every", compact_every, 1)
        )
