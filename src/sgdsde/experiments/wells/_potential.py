"""The double-well loss :class:`DoubleWell` and the finite-sum problem :class:`WellProblem`."""

from __future__ import annotations

import math

import torch

from ...levy import symmetric_stable
from ...problems import Problem

__all__ = ["DoubleWell", "WellProblem", "well_problem"]


def _pos(name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {v!r}")
    return float(v)


def _posint(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name} must be an int >= 1; got {v!r}")
    return v


class DoubleWell:
    """Piecewise double well U(x) = h·f(x/w_±) with minima −w₋, +w₊, saddle 0 and barrier h.

    Parameters
    ----------
    depth : float > 0
        Barrier height h = U(0) − U(±w).
    width : float > 0 or (float, float)
        w (both wells) or (w₋, w₊): the distances from the minima to the saddle.

    Examples
    --------
    >>> U = DoubleWell(depth=2.0, width=(1.0, 2.0))
    >>> x = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64)
    >>> U.potential(x).tolist(), U.grad(x).abs().tolist(), U.minima
    ([0.0, 2.0, 0.0], [0.0, 0.0, 0.0], (-1.0, 2.0))
    """

    def __init__(self, depth: float = 1.0, width: float | tuple[float, float] = 1.0):
        self.depth = _pos("depth", depth)
        if isinstance(width, (tuple, list)):
            if len(width) != 2:
                raise ValueError(
                    f"width must be a number or a pair (w_left, w_right); got {width!r}"
                )
            wl, wr = (_pos("width[0]", width[0]), _pos("width[1]", width[1]))
        else:
            wl = wr = _pos("width", width)
        self.width = (wl, wr)

    @property
    def minima(self) -> tuple[float, float]:
        """(−w₋, +w₊)."""
        return (-self.width[0], self.width[1])

    saddle = 0.0

    def _w(self, x: torch.Tensor) -> torch.Tensor:
        wl, wr = self.width
        return torch.where(x < 0, torch.full_like(x, wl), torch.full_like(x, wr))

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        """U(x), elementwise."""
        y = x / self._w(x)
        a = y.abs()
        return self.depth * torch.where(a <= 1, (1 - y * y) ** 2, 4 * (a - 1) ** 2)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """U'(x), elementwise."""
        w = self._w(x)
        y = x / w
        a = y.abs()
        f1 = torch.where(a <= 1, -4 * y * (1 - y * y), 8 * torch.sign(y) * (a - 1))
        return self.depth * f1 / w

    def curvature(self, x: torch.Tensor) -> torch.Tensor:
        """U''(x), elementwise (one-sided at the kinks x = 0, ±w: the value of the piece x lies in)."""
        w = self._w(x)
        y = x / w
        f2 = torch.where(y.abs() <= 1, -4 + 12 * y * y, torch.full_like(y, 8.0))
        return self.depth * f2 / (w * w)

    @property
    def max_curvature(self) -> float:
        """sup |U''| = 8h/min(w)²: Euler with step dt is stable for dt·8h/min(w)² < 2."""
        return 8.0 * self.depth / min(self.width) ** 2

    def __repr__(self) -> str:
        return f"DoubleWell(depth={self.depth}, width={self.width})"


class WellProblem(Problem):
    """Finite-sum problem ℓ_i(θ) = U(θ) − a_i θ over θ ∈ R (d = 1), with Σ a_i = 0 so L_n = U.

    g_i(θ) = U'(θ) − a_i, g_n = U'(θ), g_B = U'(θ) − mean_{i∈B} a_i and the noise
    ξ = g_n − g_B = mean_{i∈B} a_i does not depend on θ; Σ_emp = mean(a_i²).

    Parameters
    ----------
    potential : DoubleWell (or any object with ``potential``, ``grad``, ``curvature``, ``minima``)
    a : Tensor ``(n,)``, floating; it is centred (its mean subtracted) on construction
    theta0 : Tensor ``(1,)``, optional (default: the left minimum)

    Examples
    --------
    >>> U = DoubleWell()
    >>> p = WellProblem(U, torch.tensor([1.0, -1.0, 3.0, -3.0], dtype=torch.float64))
    >>> p.n, p.d, p.theta0.tolist(), float(p.grad(torch.tensor([0.5], dtype=torch.float64)))
    (4, 1, [-1.0], -1.5)
    >>> p.batch_grad(p.theta0.expand(2, 1), torch.tensor([[0, 2], [1, 1]])).flatten().tolist()
    [-2.0, 1.0]
    """

    def __init__(self, potential: DoubleWell, a: torch.Tensor, theta0: torch.Tensor | None = None):
        if not isinstance(a, torch.Tensor):
            raise TypeError(f"a must be a torch.Tensor, got {type(a).__name__}")
        if a.ndim != 1 or a.shape[0] < 1 or not a.is_floating_point():
            raise ValueError(
                f"a must be a floating tensor of shape (n,) with n >= 1; got {tuple(a.shape)}, {a.dtype}"
            )
        if not bool(torch.isfinite(a).all()):
            raise ValueError("a must be finite")
        self.U = potential
        self.a = a - a.mean()
        self.n, self.d = a.shape[0], 1
        self.dtype, self.device = a.dtype, a.device
        self.theta0 = torch.tensor([potential.minima[0]], dtype=self.dtype, device=self.device)
        if theta0 is not None:
            self.theta0 = self._theta(theta0, "theta0").reshape(1).clone()

    @property
    def sigma2(self) -> float:
        """Σ_emp = (1/n) Σ a_i² (the one-sample noise variance, 1/n normalisation)."""
        return float((self.a**2).mean())

    def per_sample_losses(self, theta):
        theta = self._theta(theta)
        return self.U.potential(theta) - theta * self.a

    def per_sample_grads(self, theta):
        theta = self._theta(theta)
        return (self.U.grad(theta) - self.a).unsqueeze(-1)

    def grad(self, theta):
        theta = self._theta(theta)
        return self.U.grad(theta) - self.a.mean()

    def batch_grad(self, theta, idx):
        theta = self._theta(theta)
        idx = self._idx(idx, theta)
        shape = self._batch_shape(theta, idx)
        return (self.U.grad(theta) - self.a[idx].mean(-1, keepdim=True)).expand(*shape, 1)

    def hessian(self, theta):
        theta = self._theta(theta)
        return self.U.curvature(theta).unsqueeze(-1)


def well_problem(
    potential: DoubleWell,
    n: int,
    *,
    noise: str = "stable",
    alpha: float = 1.5,
    scale: float = 1.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device=None,
) -> WellProblem:
    """A :class:`WellProblem` with data a_i drawn i.i.d. (then centred).

    Parameters
    ----------
    potential : DoubleWell
    n : int ≥ 2
    noise : ``"stable"`` (a_i = scale·S_α, heavy tails) or ``"gaussian"`` (a_i = scale·N(0, 1))
    alpha : float in (0, 2], the stability index for ``noise="stable"``
    scale : float > 0
    seed : int (CPU generator: the same data on every device)
    dtype, device : of the data

    Examples
    --------
    >>> p = well_problem(DoubleWell(), 1000, noise="gaussian", seed=0)
    >>> p.n, abs(float(p.a.mean())) < 1e-12, 0.8 < p.sigma2 < 1.2
    (1000, True, True)
    """
    n = _posint("n", n)
    if n < 2:
        raise ValueError(f"n must be >= 2; got {n}")
    scale = _pos("scale", scale)
    g = torch.Generator().manual_seed(int(seed))
    if noise == "stable":
        a = symmetric_stable(alpha, (n,), scale=scale, generator=g, dtype=torch.float64)
    elif noise == "gaussian":
        a = scale * torch.randn(n, generator=g, dtype=torch.float64)
    else:
        raise ValueError(f"noise must be 'stable' or 'gaussian'; got {noise!r}")
    return WellProblem(potential, a.to(dtype=dtype, device=device))
