"""The law of a Markov chain on a grid, advanced one step at a time: ``r_{k+1} = r_k P``.

The state is a row vector ``r_k`` (a signed measure on the grid's basis, one chain); ``P`` is the
chain's transfer matrix acting on functions, ``(P v)(x_j) = E[v(X_{k+1}) | X_k = x_j]``, so that
``r_k v = E v(X_k)`` for every grid function ``v`` (the dual, forward form of the backward
recursion ``v_k = P v_{k+1}``). Deterministic: no draws, exact up to the grid (no order claimed).
:mod:`sgdsde.kolmogorov` builds ``P`` for SGD and for its SDEs on a circle.

Examples
--------
>>> import torch
>>> from sgdsde.dynamics import integrate
>>> from sgdsde.dynamics.steppers.transfer import Transfer
>>> P = torch.tensor([[0.5, 0.5], [0.0, 1.0]], dtype=torch.float64)   # state 1 absorbing
>>> r = integrate(Transfer(P), torch.tensor([1.0, 0.0], dtype=torch.float64), 2).x[:, 0]
>>> r.tolist()                                                         # P(X_k = 0) = 2^-k
[[1.0, 0.0], [0.5, 0.5], [0.25, 0.75]]
"""

from __future__ import annotations

import torch

from .base import Stepper

__all__ = ["Transfer"]


class Transfer(Stepper):
    """One step of the law, ``r ↦ r P``, for a square transfer matrix ``P``.

    Parameters
    ----------
    P : Tensor ``(M, M)``, floating point
        Transfer matrix on grid functions (rows: the grid points where the expectation is taken).

    Examples
    --------
    >>> import torch
    >>> T = Transfer(torch.eye(3, dtype=torch.float64))
    >>> T.step(torch.ones(1, 3, dtype=torch.float64), None, 0).tolist()
    [[1.0, 1.0, 1.0]]
    >>> Transfer(torch.ones(2, 3))
    Traceback (most recent call last):
    ...
    ValueError: P must be a square (M, M) matrix, got shape (2, 3)
    """

    weak_order = None
    strong_order = None

    def __init__(self, P: torch.Tensor):
        P = torch.as_tensor(P)
        if P.ndim != 2 or P.shape[0] != P.shape[1]:
            raise ValueError(f"P must be a square (M, M) matrix, got shape {tuple(P.shape)}")
        if not P.is_floating_point() or not bool(torch.isfinite(P).all()):
            raise ValueError("P must be a finite floating-point matrix")
        self.P = P

    def step(self, x: torch.Tensor, z, k: int) -> torch.Tensor:
        return x @ self.P.to(x.dtype)
