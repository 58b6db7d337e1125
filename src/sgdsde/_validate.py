"""Argument checks shared by the dynamics engines (``sgd``, ``sde``, ``dynamics``).

Each check names the argument and the allowed range in its error message.
"""
from __future__ import annotations

import math
from numbers import Integral, Real

import torch

from .levy import check_alpha


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
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not math.isfinite(eta) or eta <= 0:
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
            raise TypeError(f"generator must be a torch.Generator or None, got {type(gen).__name__}")
        if torch.device(gen.device).type != torch.device(device).type:
            raise ValueError(f"generator is on {gen.device} but the state is on {device}")
        return gen
    seed = check_int("seed", seed, 0)
    return torch.Generator(device=device).manual_seed(seed)
