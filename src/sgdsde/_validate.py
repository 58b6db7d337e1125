"""Shared argument checks of the engines: one wording for every bad-input error.

Conventions (used across :mod:`sgdsde.problems`, :mod:`sgdsde.sampling`, :mod:`sgdsde.noise`):

* integer arguments (n, d, batch_size, chains, seeds, ...) accept Python ints and numpy integers
  (anything with ``__index__`` except ``bool``) and come back as Python ``int``;
* a float tensor argument must have the problem's dtype: a mismatch is a ``TypeError`` naming the
  argument (no silent casts between float32 and float64);
* errors name the argument and the allowed range.

The dynamics engines (``sgd``, ``sde``, ``dynamics``) use the checks of the second half
(``check_dt``, ``check_int``, ``check_noise``, ``check_x0``, ...).

Examples
--------
>>> import numpy as np
>>> as_int("chains", np.int64(3), min=1)
3
>>> as_int("chains", 0, min=1)
Traceback (most recent call last):
...
ValueError: chains must be >= 1; got 0
"""

from __future__ import annotations

import math
import operator
from numbers import Integral, Real
from typing import Any

import torch

from .levy import check_alpha

#: Attribute that :mod:`sgdsde.sampling` sets on the index tensors it draws: the n they index into.
#: ``Problem.batch_grad`` skips its range check for such tensors (no host sync per step on GPUs).
IN_RANGE_ATTR = "_sgdsde_in_range_n"

__all__ = [
    "as_int",
    "as_real",
    "as_generator",
    "check_tensor",
    "check_finite",
    "check_float_dtype",
    "mark_in_range",
    "IN_RANGE_ATTR",
]


def mark_in_range(idx: torch.Tensor, n: int) -> torch.Tensor:
    """Tag ``idx`` as holding indices in [0, n − 1] by construction (see ``IN_RANGE_ATTR``).

    Examples
    --------
    >>> getattr(mark_in_range(torch.zeros(1, 2, dtype=torch.long), 5), IN_RANGE_ATTR)
    5
    """
    setattr(idx, IN_RANGE_ATTR, n)
    return idx


def as_int(name: str, v: Any, *, min: int | None = None, max: int | None = None) -> int:
    """``v`` as a Python int (ints and numpy integers; not bool, not float), within [min, max].

    Examples
    --------
    >>> as_int("n", 5, min=1, max=5)
    5
    >>> as_int("n", 2.0)
    Traceback (most recent call last):
    ...
    TypeError: n must be an int, got float
    """
    if isinstance(v, bool) or not hasattr(type(v), "__index__"):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if isinstance(
        v, torch.Tensor
    ):  # a 0-d integer tensor has __index__; refuse tensors for clarity
        raise TypeError(f"{name} must be an int, got a torch.Tensor")
    out = operator.index(v)
    if min is not None and max is not None and not min <= out <= max:
        raise ValueError(f"{name} must be in [{min}, {max}]; got {out}")
    if min is not None and out < min:
        raise ValueError(f"{name} must be >= {min}; got {out}")
    if max is not None and out > max:
        raise ValueError(f"{name} must be <= {max}; got {out}")
    return out


def as_real(name: str, v: Any, *, min: float | None = None, positive: bool = False) -> float:
    """``v`` as a finite Python float (ints, floats, numpy scalars; not bool).

    Examples
    --------
    >>> as_real("noise_std", 0.5, min=0.0)
    0.5
    """
    if isinstance(v, bool) or not isinstance(v, Real):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    out = float(v)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite; got {v!r}")
    if positive and out <= 0:
        raise ValueError(f"{name} must be > 0; got {v!r}")
    if min is not None and out < min:
        raise ValueError(f"{name} must be >= {min}; got {v!r}")
    return out


def as_generator(name: str, g: Any) -> torch.Generator | None:
    """``g`` if it is a ``torch.Generator`` or ``None``, else a ``TypeError``.

    Examples
    --------
    >>> as_generator("generator", None) is None
    True
    """
    if g is not None and not isinstance(g, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator or None, got {type(g).__name__}")
    return g


def check_tensor(name: str, t: Any) -> torch.Tensor:
    """``t`` if it is a ``torch.Tensor``, else a ``TypeError`` naming ``name``.

    Examples
    --------
    >>> check_tensor("X", [1.0])
    Traceback (most recent call last):
    ...
    TypeError: X must be a torch.Tensor, got list
    """
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    return t


def check_finite(name: str, t: torch.Tensor) -> torch.Tensor:
    """``t`` if it holds no NaN/inf (floating tensors only), else a ``ValueError``.

    Examples
    --------
    >>> check_finite("y", torch.tensor([1.0, float("nan")]))
    Traceback (most recent call last):
    ...
    ValueError: y must be finite; it holds 1 non-finite entries (NaN or inf)
    """
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{name} must be finite; it holds {bad} non-finite entries (NaN or inf)")
    return t


def check_float_dtype(name: str, t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``t`` if its dtype is ``dtype``, else a ``TypeError`` naming the argument (no silent cast).

    Examples
    --------
    >>> check_float_dtype("theta", torch.zeros(2), torch.float64)
    Traceback (most recent call last):
    ...
    TypeError: theta has dtype torch.float32; this problem's dtype is torch.float64
    """
    if t.dtype != dtype:
        raise TypeError(f"{name} has dtype {t.dtype}; this problem's dtype is {dtype}")
    return t


# -- the dynamics engines' checks ------------------------------------------------------------
def as_float(x) -> float | None:
    """A real number (Python, numpy or a one-element tensor) as float; None if it is not one."""
    if isinstance(x, (bool, str, bytes)):
        return None
    try:
        return float(x)
    except (TypeError, ValueError, RuntimeError):
        return None


def check_eta(name: str, eta) -> None:
    """``eta`` must be a finite Python number > 0 (schedules' constructors)."""
    if (
        isinstance(eta, bool)
        or not isinstance(eta, (int, float))
        or not math.isfinite(eta)
        or eta <= 0
    ):
        raise ValueError(f"{name} must be a finite number > 0; got {eta!r}")


def check_dt(dt) -> float:
    """A time step: a finite real number > 0 (a one-element tensor is accepted)."""
    if isinstance(dt, torch.Tensor) and dt.numel() == 1:
        dt = dt.item()
    if isinstance(dt, bool) or not isinstance(dt, Real):
        raise TypeError(f"dt must be a real number > 0, got {type(dt).__name__}")
    dt = float(dt)
    if not (dt > 0 and math.isfinite(dt)):
        raise ValueError(f"dt must be a finite number > 0, got {dt}")
    return dt


def check_int(name: str, v, lo: int) -> int:
    """An integer (Python or numpy) ≥ ``lo``."""
    if isinstance(v, bool) or not isinstance(v, Integral):
        raise TypeError(f"{name} must be an integer >= {lo}, got {type(v).__name__}")
    v = int(v)
    if v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v}")
    return v


def check_noise(noise: str, alpha) -> float | None:
    """``noise`` in {"gaussian", "alpha_stable"}; α required for (and only for) the stable one."""
    if noise not in ("gaussian", "alpha_stable"):
        raise ValueError(f"noise must be 'gaussian' or 'alpha_stable', got {noise!r}")
    if noise == "alpha_stable":
        if alpha is None:
            raise ValueError("noise='alpha_stable' needs alpha in (0, 2]")
        return check_alpha(alpha)
    if alpha is not None:
        raise ValueError("alpha is only used with noise='alpha_stable'")
    return None


def check_on_divergence(on_divergence) -> str:
    if on_divergence not in ("raise", "flag"):
        raise ValueError(f"on_divergence must be 'raise' or 'flag', got {on_divergence!r}")
    return on_divergence


def check_x0(x0, chains: int, name: str = "x0") -> torch.Tensor:
    """A finite floating state ``(d,)`` (expanded to ``chains``) or ``(chains, d)``; a fresh copy."""
    if not isinstance(x0, torch.Tensor):
        x0 = torch.as_tensor(x0)
    if not x0.is_floating_point():
        x0 = x0.to(torch.get_default_dtype())
    if x0.ndim == 1:
        x0 = x0.unsqueeze(0).expand(chains, -1)
    elif x0.ndim == 2:
        if chains != 1 and x0.shape[0] != chains:
            raise ValueError(f"{name} has {x0.shape[0]} rows but chains={chains}")
    else:
        raise ValueError(f"{name} must have shape (d,) or (chains, d), got {tuple(x0.shape)}")
    if x0.shape[-1] < 1:
        raise ValueError(f"{name} must have d >= 1")
    if not bool(torch.isfinite(x0).all()):
        raise ValueError(f"{name} must be finite")
    return x0.clone().contiguous()


def generator(device: torch.device, seed, gen: torch.Generator | None) -> torch.Generator:
    """``gen`` if given (on ``device``'s type), else a fresh generator on ``device`` seeded by ``seed``."""
    if gen is not None:
        if not isinstance(gen, torch.Generator):
            raise TypeError(
                f"generator must be a torch.Generator or None, got {type(gen).__name__}"
            )
        if torch.device(gen.device).type != torch.device(device).type:
            raise ValueError(f"generator is on {gen.device} but the state is on {device}")
        return gen
    seed = check_int("seed", seed, 0)
    return torch.Generator(device=device).manual_seed(seed)
