"""Exact checks with tolerances scaled to the numbers compared, never a bare absolute constant.

An identity that holds exactly in real arithmetic holds in floating point up to rounding, and
rounding is relative: ``ulps`` units of the dtype's machine epsilon times the largest magnitude
involved. :func:`assert_close` states that tolerance in one place, so a check that passes for one
data set cannot fail for another merely because its numbers are larger.

Examples
--------
>>> import torch
>>> a = torch.tensor([1e6, 2e6], dtype=torch.float64)
>>> assert_close(a + 1e-9, a)              # 1e-9 is below 1000·eps·2e6 ≈ 4.4e-7
>>> assert_close(torch.zeros(2, dtype=torch.float64), 1e-13 * torch.ones(2), scale=1.0)
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["assert_close", "tolerance"]


def _array(name: str, x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=np.float64) if not np.iscomplexobj(x) else np.asarray(x)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a number, an array or a tensor; got {type(x).__name__}"
        ) from None


def _eps(*xs) -> float:
    """Machine epsilon of the least precise floating input (float64 if none is a float tensor/array)."""
    eps = float(np.finfo(np.float64).eps)
    for x in xs:
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            eps = max(eps, float(torch.finfo(x.dtype).eps))
        elif isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating):
            eps = max(eps, float(np.finfo(x.dtype).eps))
    return eps


def tolerance(actual, expected, ulps: float = 1000, scale: float | None = None) -> float:
    """``ulps · eps · max(|actual|, |expected|, scale)``: the rounding allowed in :func:`assert_close`.

    Examples
    --------
    >>> t = tolerance([3.0], [-4.0])
    >>> abs(t - 1000 * 2.0**-52 * 4.0) < 1e-30
    True
    """
    if not (isinstance(ulps, (int, float)) and ulps > 0):
        raise ValueError(f"ulps must be a number > 0; got {ulps!r}")
    a, b = _array("actual", actual), _array("expected", expected)
    size = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    if scale is not None:
        if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale >= 0):
            raise ValueError(f"scale must be a finite number >= 0; got {scale!r}")
        size = max(size, float(scale))
    return ulps * _eps(actual, expected) * size


def assert_close(
    actual, expected, ulps: float = 1000, scale: float | None = None, what: str = ""
) -> None:
    """Assert ``|actual − expected| ≤ ulps · eps · max(|actual|, |expected|, scale)`` elementwise.

    Parameters
    ----------
    actual, expected : number, array or tensor
        Broadcastable to each other.
    ulps : float, default 1000
        Units of rounding allowed (``eps`` of the least precise float dtype among the inputs). Use
        about the number of operations that accumulate rounding (e.g. the length of a sum).
    scale : float, optional
        The magnitude of the computation when both sides may be far smaller than the numbers they
        were computed from (e.g. a noise that should be exactly 0, computed from gradients of size
        ``scale``).
    what : str
        Named in the error message.

    Raises
    ------
    AssertionError
        With the largest deviation and the tolerance.

    Examples
    --------
    >>> assert_close(0.1 + 0.2, 0.3)
    >>> assert_close(1.0, 1.0 + 1e-9, what="x")
    Traceback (most recent call last):
    ...
    AssertionError: x: max |actual − expected| = 1e-09 > tolerance 2.22e-13 (1000 ulps of 1)
    """
    a, b = _array("actual", actual), _array("expected", expected)
    tol = tolerance(actual, expected, ulps=ulps, scale=scale)
    dev = float(np.max(np.abs(a - b), initial=0.0))
    if not dev <= tol:
        size = tol / (ulps * _eps(actual, expected)) if tol > 0 else 0.0
        raise AssertionError(
            f"{what or 'assert_close'}: max |actual − expected| = {dev:.3g} > tolerance "
            f"{tol:.3g} ({ulps:g} ulps of {size:.3g})"
        )
