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


# --- isotropic, state-dependent noise whose variance is quadratic in the state --------------------


class QuadraticVariance(Field):
    """Isotropic noise of variance a(x) = scale·(1 + xᵀQx): the field x ↦ a(x)·I_d.

    A diffusion matrix for :func:`sgdsde.fokker_planck.solve_stationary_2d` (``(..., d, d)``);
    :meth:`std` gives the matching diagonal σ(x) = √a(x) for :func:`sgdsde.sde.simulate`. In one
    dimension, with ``scale = c s₀`` and ``Q = [[s₁/s₀]]``, a(θ) = c(s₀ + s₁θ²): the noise of a
    loss whose gradient covariance is Σ(θ) = s₀ + s₁θ².

    Parameters
    ----------
    scale : float > 0, a(0)
    Q : Tensor ``(d, d)``, symmetric positive semi-definite (its dtype is used for checks only)

    Examples
    --------
    >>> a = QuadraticVariance(2.0, torch.diag(torch.tensor([8.0, 0.0], dtype=torch.float64)))
    >>> x = torch.tensor([[0.5, 1.0]], dtype=torch.float64)
    >>> a(x)                                                       # 2(1 + 8·0.25) I
    tensor([[[6., 0.],
             [0., 6.]]], dtype=torch.float64)
    >>> a.std()(x)
    tensor([[2.4495, 2.4495]], dtype=torch.float64)
    """

    def __init__(self, scale: float, Q: torch.Tensor):
        scale = float(scale)
        if not 0 < scale < float("inf"):  # also rejects NaN
            raise ValueError(f"scale must be a finite number > 0, got {scale}")
        Q = torch.as_tensor(Q)
        if Q.ndim != 2 or Q.shape[0] != Q.shape[1] or not Q.is_floating_point():
            raise ValueError(
                f"Q must be a square floating (d, d) matrix, got shape {tuple(Q.shape)}"
            )
        if not bool(torch.isfinite(Q).all()) or not torch.allclose(Q, Q.T):
            raise ValueError("Q must be finite and symmetric")
        if float(torch.linalg.eigvalsh(Q).min()) < -1e-12 * float(Q.abs().max().clamp_min(1.0)):
            raise ValueError("Q must be positive semi-definite (a variance must stay > 0)")
        self.scale, self.Q = scale, Q

    def variance(self, x: torch.Tensor) -> torch.Tensor:
        """a(x) ``(...,)`` at points x ``(..., d)``."""
        Q = self.Q.to(x)
        return self.scale * (1 + ((x @ Q) * x).sum(-1))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        eye = torch.eye(x.shape[-1], dtype=x.dtype, device=x.device)
        return self.variance(x)[..., None, None] * eye

    def std(self) -> Field:
        """The diagonal noise σ(x) = √a(x)·(1, …, 1), a Field ``(..., d)`` → ``(..., d)``."""
        return _QuadraticStd(self)

    def __repr__(self) -> str:
        return f"QuadraticVariance(scale={self.scale}, Q={self.Q.tolist()})"


class _QuadraticStd(Field):
    def __init__(self, var: QuadraticVariance):
        self.var = var

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.var.variance(x).sqrt()[..., None].expand(*x.shape)


__all__ += ["QuadraticVariance"]


# ---- state-dependent diffusion fields (§2.3 stationary density) ------------------------------

__all__ += ["EmpiricalCovarianceField", "IsotropicLossDiffusion"]


def _finite(v: float) -> bool:
    return float("-inf") < v < float("inf")


class EmpiricalCovarianceField(Field):
    """a(x) = scale · Σ_emp(center + x): the SDE's diffusion with the data's θ-dependent Σ.

    Σ_emp(θ) = (1/n) Σ_i (g_i − g_n)(g_i − g_n)ᵀ is computed from ``problem.per_sample_grads``
    at the stacked points (the same matrix as :func:`sgdsde.noise.empirical_covariance`). Points
    are moved to ``center``'s device and dtype for the evaluation and the result back to theirs.

    Parameters
    ----------
    problem : object with ``per_sample_grads(θ (..., d)) → (..., n, d)`` and ``n``
    center : Tensor ``(d,)``, finite; x is the displacement from it (e.g. θ̂)
    scale : float > 0; e.g. η/B for the diffusion matrix of (23) in its time units

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression
    >>> X = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> p = LinearRegression(X, torch.zeros(3, dtype=torch.float64))
    >>> a = EmpiricalCovarianceField(p, torch.ones(2, dtype=torch.float64), scale=0.5)
    >>> a(torch.zeros(4, 5, 2, dtype=torch.float64)).shape
    torch.Size([4, 5, 2, 2])
    """

    def __init__(self, problem, center: torch.Tensor, scale: float = 1.0):
        if not callable(getattr(problem, "per_sample_grads", None)) or not hasattr(problem, "n"):
            raise TypeError(
                f"problem must have per_sample_grads and n (a sgdsde Problem); "
                f"got {type(problem).__name__}"
            )
        center = torch.as_tensor(center)
        if center.ndim != 1 or not center.is_floating_point():
            raise ValueError(f"center must be a floating (d,) vector; got {tuple(center.shape)}")
        if not bool(torch.isfinite(center).all()):
            raise ValueError("center must be finite")
        scale = float(scale)
        if not (_finite(scale) and scale > 0):
            raise ValueError(f"scale must be finite and > 0; got {scale}")
        self.problem, self.center, self.scale = problem, center, scale

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        c = self.center
        if x.shape[-1:] != c.shape:
            raise ValueError(f"x must have shape (..., {c.numel()}); got {tuple(x.shape)}")
        G = self.problem.per_sample_grads(c + x.to(dtype=c.dtype, device=c.device))
        C = G - G.mean(-2, keepdim=True)
        a = self.scale * (C.mT @ C) / self.problem.n
        return a.to(dtype=x.dtype, device=x.device)


class IsotropicLossDiffusion(Field):
    """a(x) = scale · (1 + slope · L(x)) · I with L(x) = ½ xᵀHx: isotropic, θ-dependent via the loss.

    A diffusion that depends on θ only through the loss and is a multiple of the identity; with
    the gradient drift −Hx its stationary law carries no probability current (detailed balance).

    Parameters
    ----------
    H : Tensor ``(d, d)``, symmetric, finite (the Hessian of the quadratic loss above its minimum)
    scale : float > 0; the diffusion at the minimum
    slope : float ≥ 0; relative growth per unit of loss

    Examples
    --------
    >>> H = torch.diag(torch.tensor([2.0, 1.0], dtype=torch.float64))
    >>> a = IsotropicLossDiffusion(H, scale=0.5, slope=1.0)
    >>> a(torch.tensor([[1.0, 0.0]], dtype=torch.float64))     # L = 1: 0.5 · 2 · I
    tensor([[[1., 0.],
             [0., 1.]]], dtype=torch.float64)
    """

    def __init__(self, H: torch.Tensor, scale: float, slope: float = 0.0):
        H = torch.as_tensor(H)
        if H.ndim != 2 or H.shape[0] != H.shape[1] or not H.is_floating_point():
            raise ValueError(f"H must be a square floating (d, d) matrix; got {tuple(H.shape)}")
        if not bool(torch.isfinite(H).all()):
            raise ValueError("H must be finite")
        tol = 64 * torch.finfo(H.dtype).eps * float(H.abs().max())
        if float((H - H.T).abs().max()) > tol:
            raise ValueError("H must be symmetric")
        scale, slope = float(scale), float(slope)
        if not (_finite(scale) and scale > 0):
            raise ValueError(f"scale must be finite and > 0; got {scale}")
        if not (_finite(slope) and slope >= 0):
            raise ValueError(f"slope must be finite and >= 0; got {slope}")
        self.H, self.scale, self.slope = H, scale, slope

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """L(x) = ½ xᵀHx at points ``(..., d)``."""
        return 0.5 * torch.einsum("...i,ij,...j->...", x, self.H.to(x), x)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        d = self.H.shape[0]
        if x.shape[-1:] != (d,):
            raise ValueError(f"x must have shape (..., {d}); got {tuple(x.shape)}")
        s = self.scale * (1 + self.slope * self.loss(x))
        eye = torch.eye(d, dtype=x.dtype, device=x.device)
        return s[..., None, None] * eye


class GradientDrift(Field):
    """b(θ) = −∇L_n(θ − …) of a problem: the drift of SGD's SDE (notes (23)) as a Field.

    Parameters
    ----------
    problem : a sgdsde Problem (uses ``grad``); points are cast to its dtype and device and back

    Examples
    --------
    >>> from sgdsde.problems import warped_plane_loss
    >>> b = GradientDrift(warped_plane_loss())
    >>> b(torch.tensor([[1.0, 0.0]], dtype=torch.float64))       # −(h₁ + λ) θ₁ = −1.5
    tensor([[-1.5000, -0.5000]], dtype=torch.float64)
    """

    def __init__(self, problem):
        if not callable(getattr(problem, "grad", None)):
            raise TypeError(
                f"problem must have grad (a sgdsde Problem); got {type(problem).__name__}"
            )
        self.problem = problem

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        p = self.problem
        return -p.grad(x.to(dtype=p.dtype, device=p.device)).to(dtype=x.dtype, device=x.device)


__all__ += ["GradientDrift"]
