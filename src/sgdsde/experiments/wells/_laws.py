"""Exit-time laws: the exact Gaussian mean first-passage time, Kramers' law, the Lévy first-order law."""

from __future__ import annotations

import math

import numpy as np
import torch

from ...levy import check_alpha
from ._potential import DoubleWell, _pos

__all__ = [
    "levy_measure_constant",
    "gaussian_mean_exit_time",
    "kramers_time",
    "levy_mean_exit_time",
]


def levy_measure_constant(alpha: float) -> float:
    """c_α = Γ(1+α) sin(πα/2)/π: the Lévy measure of S_α is c_α |y|^{−1−α} dy.

    For the standard symmetric α-stable law (E e^{iuS} = e^{−|u|^α}), P(S > x) ~ (c_α/α) x^{−α}
    as x → ∞. c_1 = 1/π (Cauchy), c_2 = 0 (Gaussian: no jumps).

    Examples
    --------
    >>> round(levy_measure_constant(1.0) * math.pi, 12)
    1.0
    >>> levy_measure_constant(2.0) < 1e-16
    True
    """
    a = check_alpha(alpha)
    return math.gamma(1.0 + a) * math.sin(math.pi * a / 2.0) / math.pi


def gaussian_mean_exit_time(
    potential: DoubleWell,
    eps: float,
    *,
    x0: float | None = None,
    target: float | None = None,
    points: int = 40001,
) -> float:
    """Exact mean first-passage time of dX = −U'dt + ε dW from x0 to target > x0 (no lower barrier).

    T(x0) = (2/ε²) ∫_{x0}^{target} e^{2U(y)/ε²} ∫_{−∞}^{y} e^{−2U(z)/ε²} dz dy, evaluated by the
    trapezoidal rule on ``points`` nodes (exponents shifted for range; the lower limit is where
    2(U − min U)/ε² exceeds 60).

    Examples
    --------
    >>> U = DoubleWell(depth=1.0)
    >>> t_small, t_big = gaussian_mean_exit_time(U, 0.5), gaussian_mean_exit_time(U, 0.4)
    >>> round(math.log(t_big / t_small) / (2 / 0.4**2 - 2 / 0.5**2), 1)   # Arrhenius slope ≈ h
    1.0
    """
    eps = _pos("eps", eps)
    lo, hi = potential.minima
    x0 = lo if x0 is None else float(x0)
    target = hi if target is None else float(target)
    if not target > x0:
        raise ValueError(f"target must exceed x0; got x0={x0}, target={target}")
    beta = 2.0 / eps**2
    off = potential.width[0]
    while float(beta * potential.potential(torch.tensor(x0 - off, dtype=torch.float64))) < 60:
        off *= 1.5
    y = np.linspace(x0 - off, target, int(points))
    U = potential.potential(torch.from_numpy(y)).numpy()
    inner = np.concatenate(
        [[0.0], np.cumsum(0.5 * (np.exp(-beta * U[1:]) + np.exp(-beta * U[:-1])) * np.diff(y))]
    )
    mask = y >= x0
    ym, Um, Im = y[mask], U[mask], inner[mask]
    # e^{βU} I(y): combine in logs to keep the range
    f = np.exp(beta * Um + np.log(np.maximum(Im, 1e-300)))
    return float(beta * np.trapezoid(f, ym))


def kramers_time(potential: DoubleWell, eps: float) -> float:
    """Kramers' asymptotic mean transition time 2π/√(U''(m)|U''(s)|)·exp(2h/ε²) (small ε).

    Uses the left well's curvatures U''(−w₋) = 8h/w₋² and |U''(0⁻)| = 4h/w₋² (symmetric wells).

    Examples
    --------
    >>> U = DoubleWell(depth=1.0)
    >>> r = kramers_time(U, 0.3) / gaussian_mean_exit_time(U, 0.3)
    >>> 0.9 < r < 1.1
    True
    """
    eps = _pos("eps", eps)
    h, w = potential.depth, potential.width[0]
    return 2 * math.pi / math.sqrt((8 * h / w**2) * (4 * h / w**2)) * math.exp(2 * h / eps**2)


def levy_mean_exit_time(distance: float, eps: float, alpha: float) -> float:
    """First-order mean exit time α d^α/(c_α ε^α) of dX = −U'dt + ε dL^α from a well (small ε).

    The process leaves when one jump carries it past the saddle at distance d from the minimum;
    jumps of ε L^α beyond d (one side) arrive at rate ε^α c_α d^{−α}/α (Imkeller & Pavlyukevich
    2006). The law depends on the width d and on ε polynomially and not on the depth.

    Examples
    --------
    >>> t1, t2 = levy_mean_exit_time(1.0, 0.1, 1.5), levy_mean_exit_time(2.0, 0.1, 1.5)
    >>> round(t2 / t1, 6) == round(2 ** 1.5, 6)
    True
    """
    d, eps = _pos("distance", distance), _pos("eps", eps)
    a = check_alpha(alpha)
    if a == 2.0:
        return math.inf
    return a * d**a / (levy_measure_constant(a) * eps**a)
