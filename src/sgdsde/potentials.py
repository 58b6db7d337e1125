"""Named drifts and potentials for the SDE and Fokker–Planck engines.

Chapters pass these objects (or a matrix, see :class:`LinearDrift`) to :func:`sgdsde.sde.simulate`
and :mod:`sgdsde.fokker_planck` instead of writing the vector field inline. Every object is a
callable on points ``x`` of shape ``(..., d)``; :meth:`Field.on_grid` adapts it to the
``(X, Y)`` meshgrid signature of :func:`sgdsde.fokker_planck.solve_stationary_2d`.
"""

from __future__ import annotations

import torch

__all__ = ["Field", "LinearDrift", "QuarticDoubleWell", "ConstantField", "as_drift"]


class Field:
    """A vector (or matrix) field x ``(..., d)`` → ``(..., *shape)``; subclasses define ``__call__``.

    Examples
    --------
    >>> isinstance(LinearDrift(-torch.eye(2)), Field)
    True
    """

    def __call__(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def on_grid(self, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        """The field on a 2-D meshgrid: ``(ny, nx)`` arrays → ``(ny, nx, ...)``.

        Examples
        --------
        >>> b = LinearDrift(-torch.eye(2, dtype=torch.float64))
        >>> X, Y = torch.zeros(3, 4, dtype=torch.float64), torch.ones(3, 4, dtype=torch.float64)
        >>> b.on_grid(X, Y).shape
        torch.Size([3, 4, 2])
        """
        return self(torch.stack([X, Y], -1))


class LinearDrift(Field):
    """b(x) = M x for a constant ``(d, d)`` matrix M (gradient flow of ½xᵀHx is ``M = -H``).

    Parameters
    ----------
    M : Tensor ``(d, d)``, finite; its dtype and device are used.

    Examples
    --------
    >>> H = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> LinearDrift(-H)(torch.tensor([[1.0, 1.0]], dtype=torch.float64))
    tensor([[-2., -1.]], dtype=torch.float64)
    """

    def __init__(self, M: torch.Tensor):
        M = torch.as_tensor(M)
        if M.ndim != 2 or M.shape[0] != M.shape[1]:
            raise ValueError(f"M must be a square (d, d) matrix, got shape {tuple(M.shape)}")
        if not M.is_floating_point() or not bool(torch.isfinite(M).all()):
            raise ValueError("M must be a finite floating-point matrix")
        self.M = M

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.M.to(x).T

    def __repr__(self) -> str:
        return f"LinearDrift(M={self.M.tolist()})"


class QuarticDoubleWell(Field):
    """b(x) = −U'(x) for U(x) = a(x⁴/4 − x²/2), elementwise (minima ±1, barrier a/4).

    Parameters
    ----------
    scale : float > 0, the factor a.

    Examples
    --------
    >>> QuarticDoubleWell()(torch.tensor([2.0, 0.5], dtype=torch.float64))
    tensor([-6.0000,  0.3750], dtype=torch.float64)
    """

    def __init__(self, scale: float = 1.0):
        scale = float(scale)
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        self.scale = scale

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        """U(x), elementwise."""
        return self.scale * (x**4 / 4 - x**2 / 2)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return -self.scale * (x**3 - x)


class ConstantField(Field):
    """The same value at every point: a constant diffusion matrix or drift.

    Parameters
    ----------
    value : Tensor of any shape ``shape``; the field maps ``(..., d)`` → ``(..., *shape)``.

    Examples
    --------
    >>> a = ConstantField(2 * torch.eye(2, dtype=torch.float64))
    >>> a(torch.zeros(5, 2, dtype=torch.float64)).shape
    torch.Size([5, 2, 2])
    """

    def __init__(self, value: torch.Tensor):
        self.value = torch.as_tensor(value)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        v = self.value.to(dtype=x.dtype, device=x.device)
        return v.expand(*x.shape[:-1], *v.shape)


def as_drift(drift):
    """A callable drift from a callable (returned as is) or a ``(d, d)`` matrix M (b(x) = Mx).

    Examples
    --------
    >>> b = as_drift(-torch.eye(1, dtype=torch.float64))
    >>> b(torch.tensor([[3.0]], dtype=torch.float64))
    tensor([[-3.]], dtype=torch.float64)
    """
    if isinstance(drift, torch.Tensor):
        return LinearDrift(drift)
    if not callable(drift):
        raise TypeError(
            f"drift must be a callable x -> (chains, d) or a (d, d) matrix M (b = Mx), "
            f"got {type(drift).__name__}"
        )
    return drift
