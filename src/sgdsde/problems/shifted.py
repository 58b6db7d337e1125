"""Losses that differ between samples only by a shift: ℓ_i(θ) = f(θ) − t_iᵀφ(θ) + o_i.

With φ(θ) = θ (the default) the gradient noise is additive: g_i(θ) = ∇f(θ) − t_i, so
g_i − g_n = t̄ − t_i does not depend on θ and Σ_emp is the empirical covariance of the shifts.
With a feature map φ the noise is multiplicative: g_i = ∇f − J_φ(θ)ᵀ t_i.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.func import grad as func_grad
from torch.func import hessian as func_hessian
from torch.func import jacrev, vmap

from .._validate import as_int, check_finite, check_tensor
from .base import Problem

__all__ = ["ShiftedLoss"]

Fn = Callable[[torch.Tensor], torch.Tensor]


def _callable(name: str, f: Any) -> Any:
    if f is not None and not callable(f):
        raise TypeError(f"{name} must be callable or None, got {type(f).__name__}")
    return f


class ShiftedLoss(Problem):
    """ℓ_i(θ) = f(θ) − t_iᵀφ(θ) + o_i: one potential f, per-sample shifts t_i (and offsets o_i).

    Closed forms, vectorised over chains: g_i = ∇f(θ) − J_φ(θ)ᵀt_i, g_n = ∇f − J_φᵀt̄,
    g_B = ∇f − J_φᵀ t̄_B (t̄_B the batch mean of the shifts), ∇²L_n = ∇²f − Σ_k t̄_k ∇²φ_k. With
    the default φ(θ) = θ no autograd runs once ``grad`` (and ``hessian``) of f are given; omitted,
    they come from ``torch.func`` applied to f.

    Parameters
    ----------
    f : callable θ ``(..., d)`` → ``(...,)``, vectorised over leading dims
    shifts : Tensor ``(n, k)`` (or ``(n,)`` for k = 1), floating, finite: the t_i. Its dtype and
        device are the problem's.
    grad : callable θ ``(..., d)`` → ``(..., d)``, optional: ∇f (else by ``torch.func``)
    hessian : callable θ ``(..., d)`` → ``(..., d, d)``, optional: ∇²f (else by ``torch.func``)
    features : callable θ ``(..., d)`` → ``(..., k)``, optional: φ (default the identity, k = d)
    d : int, the dimension of θ; needed only with ``features`` (else k)
    offsets : Tensor ``(n,)``, optional: the o_i (they change the losses, not the gradients)
    theta0 : Tensor ``(d,)``, optional default initial point (zeros)

    Examples
    --------
    The double well of the stationary-law chapter, ℓ_i(θ) = θ⁴/4 − θ²/2 − c_iθ (what
    ``TorchModel(nn.Linear(1, 1, bias=False), lambda out, t: (out**4/4 - out**2/2 - t*out).sum(),
    torch.ones(n, 1), c)`` computes):

    >>> c = torch.tensor([[-1.0], [0.5], [0.5]], dtype=torch.float64)
    >>> dw = ShiftedLoss(lambda th: (th**4 / 4 - th**2 / 2).sum(-1), c, grad=lambda th: th**3 - th)
    >>> th = torch.tensor([[2.0], [0.0]], dtype=torch.float64)           # two chains
    >>> dw.per_sample_grads(th)[0].squeeze(-1)                           # θ³ − θ − c_i at θ = 2
    tensor([7.0000, 5.5000, 5.5000], dtype=torch.float64)
    >>> dw.batch_grad(th, torch.tensor([[0, 1], [2, 2]])).squeeze(-1)
    tensor([ 6.2500, -0.5000], dtype=torch.float64)
    >>> float(dw.hessian(th[0]))                                         # 3θ² − 1 by torch.func
    11.0
    """

    #: set by :meth:`quadratic`: the symmetrised H, the centres c_i and the transform A
    H: torch.Tensor | None = None
    centres: torch.Tensor | None = None
    A: torch.Tensor | None = None

    def __init__(
        self,
        f: Fn,
        shifts: torch.Tensor,
        *,
        grad: Fn | None = None,
        hessian: Fn | None = None,
        features: Fn | None = None,
        d: int | None = None,
        offsets: torch.Tensor | None = None,
        theta0: torch.Tensor | None = None,
    ):
        if not callable(f):
            raise TypeError(f"f must be callable θ (..., d) -> (...,), got {type(f).__name__}")
        self.f = f
        self._grad_f = _callable("grad", grad)
        self._hess_f = _callable("hessian", hessian)
        self.features = _callable("features", features)
        t = check_tensor("shifts", shifts)
        if not t.is_floating_point():
            raise TypeError(f"shifts must be a floating tensor, got {t.dtype}")
        if t.ndim == 1:
            t = t.unsqueeze(-1)
        if t.ndim != 2 or t.shape[0] < 1 or t.shape[1] < 1:
            raise ValueError(
                f"shifts must have shape (n, k) or (n,) with n, k >= 1; got {tuple(t.shape)}"
            )
        check_finite("shifts", t)
        self.shifts = t
        self.n, self.k = t.shape
        self.dtype, self.device = t.dtype, t.device
        if features is None:
            if d is not None and as_int("d", d) != self.k:
                raise ValueError(
                    f"d must equal shifts.shape[1] = {self.k} without features; got {d}"
                )
            self.d = self.k
        elif d is None and theta0 is None:
            raise ValueError("d (the dimension of θ) is needed when features are given")
        else:
            self.d = as_int("d", d, min=1) if d is not None else int(theta0.shape[-1])  # type: ignore[union-attr]
        if offsets is None:
            self.offsets = torch.zeros(self.n, dtype=self.dtype, device=self.device)
        else:
            o = check_tensor("offsets", offsets)
            if o.shape != (self.n,) or o.dtype != self.dtype or o.device != self.device:
                raise ValueError(
                    f"offsets must be a {self.dtype} tensor of shape ({self.n},) on {self.device}"
                )
            self.offsets = check_finite("offsets", o)
        self.theta0 = torch.zeros(self.d, dtype=self.dtype, device=self.device)
        if theta0 is not None:
            t0 = self._theta(theta0, "theta0")
            if t0.ndim != 1:
                raise ValueError(f"theta0 must have shape (d,) = ({self.d},)")
            self.theta0 = t0.clone()

    @classmethod
    def quadratic(
        cls, H: torch.Tensor, centres: torch.Tensor, A: torch.Tensor | None = None
    ) -> ShiftedLoss:
        """ℓ_i(θ) = ½(Aθ − c_i)ᵀH(Aθ − c_i) (A = I by default): additive noise, Hessian AᵀHA.

        Written as f(θ) = ½θᵀAᵀHAθ, t_i = AᵀHc_i, o_i = ½c_iᵀHc_i (H is symmetrised).
        ``TorchModel(nn.Linear(1, k, bias=False), lambda out, t: 0.5 * (out - t) @ H @ (out - t),
        torch.ones(n, 1), c)`` computes the same problem.

        Parameters
        ----------
        H : Tensor ``(k, k)``
        centres : Tensor ``(n, k)``: the c_i (dtype and device of the problem)
        A : Tensor ``(k, d)``, optional

        Examples
        --------
        >>> H = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
        >>> c = torch.tensor([[1.0, 0.0], [-1.0, 2.0], [0.0, -2.0]], dtype=torch.float64)
        >>> q = ShiftedLoss.quadratic(H, c)
        >>> th = torch.tensor([0.3, -0.2], dtype=torch.float64)
        >>> bool(torch.allclose(q.per_sample_grads(th), (th - c) @ H))
        True
        >>> bool(torch.allclose(q.per_sample_losses(th), 0.5 * (((th - c) @ H) * (th - c)).sum(-1)))
        True
        >>> bool(torch.equal(q.hessian(th), H))
        True
        """
        H = check_tensor("H", H)
        c = check_tensor("centres", centres)
        if c.ndim == 1:
            c = c.unsqueeze(-1)
        k = c.shape[-1]
        if H.shape != (k, k):
            raise ValueError(f"H must have shape (k, k) = ({k}, {k}); got {tuple(H.shape)}")
        if H.dtype != c.dtype:
            raise TypeError(f"H has dtype {H.dtype}; centres are {c.dtype}")
        Hs = 0.5 * (H + H.mT)
        if A is None:
            A = torch.eye(k, dtype=c.dtype, device=c.device)
        A = check_tensor("A", A)
        if A.ndim != 2 or A.shape[0] != k:
            raise ValueError(f"A must have shape (k, d) with k = {k}; got {tuple(A.shape)}")
        if A.dtype != c.dtype:
            raise TypeError(f"A has dtype {A.dtype}; centres are {c.dtype}")
        M = A.mT @ Hs @ A  # (d, d)

        def f(th):
            return 0.5 * ((th @ M) * th).sum(-1)

        def g(th):
            return th @ M

        def h(th):
            return M.expand(*th.shape[:-1], *M.shape)

        q = cls(f, c @ Hs @ A, grad=g, hessian=h, offsets=0.5 * ((c @ Hs) * c).sum(-1))
        q.H, q.centres, q.A = Hs, c, A
        return q

    # -- pieces ------------------------------------------------------------------------------
    def _flat(self, theta) -> tuple[torch.Tensor, torch.Size]:
        theta = self._theta(theta)
        return theta.reshape(-1, self.d), theta.shape[:-1]

    def _gradf(self, th: torch.Tensor) -> torch.Tensor:  # (C, d) -> (C, d)
        if self._grad_f is not None:
            return self._grad_f(th)
        return vmap(func_grad(lambda t: self.f(t)))(th)

    def _jac(self, th: torch.Tensor) -> torch.Tensor | None:  # (C, d) -> (C, k, d); None: identity
        if self.features is None:
            return None
        return vmap(jacrev(self.features))(th)

    def _minus_shift(
        self, gf: torch.Tensor, t: torch.Tensor, J: torch.Tensor | None
    ) -> torch.Tensor:
        """∇f − J_φᵀt, broadcasting t ``(C, ..., k)`` against ∇f ``(C, d)``."""
        if J is None:
            return gf.reshape(gf.shape[0], *([1] * (t.ndim - 2)), self.d) - t
        tJ = t.reshape(t.shape[0], -1, self.k) @ J  # (C, m, d)
        return gf.unsqueeze(1) - tJ.reshape(*t.shape[:-1], self.d)

    # -- the contract ------------------------------------------------------------------------
    def per_sample_losses(self, theta):
        th, lead = self._flat(theta)
        phi = th if self.features is None else self.features(th)
        out = self.f(th).unsqueeze(-1) - phi @ self.shifts.mT + self.offsets
        return out.reshape(*lead, self.n)

    def per_sample_grads(self, theta):
        th, lead = self._flat(theta)
        t = self.shifts.expand(th.shape[0], self.n, self.k)
        return self._minus_shift(self._gradf(th), t, self._jac(th)).reshape(*lead, self.n, self.d)

    def grad(self, theta):
        th, lead = self._flat(theta)
        t = self.shifts.mean(0).expand(th.shape[0], self.k)
        g = self._minus_shift(self._gradf(th), t.unsqueeze(1), self._jac(th))
        return g.reshape(*lead, self.d)

    def batch_grad(self, theta, idx):
        theta = self._theta(theta)
        idx = self._idx(idx, theta)
        shape = self._batch_shape(theta, idx)
        tb = self.shifts[idx.reshape(-1, idx.shape[-1])].mean(-2)  # (C, k)
        th = theta.expand(*shape, self.d).reshape(-1, self.d)
        g = self._minus_shift(self._gradf(th), tb.unsqueeze(1), self._jac(th))
        return g.reshape(*shape, self.d)

    def hessian(self, theta):
        """∇²L_n(θ) = ∇²f − Σ_k t̄_k ∇²φ_k: the given ``hessian`` of f, else ``torch.func``."""
        th, lead = self._flat(theta)
        if self._hess_f is not None:
            H = self._hess_f(th)
        else:
            H = vmap(func_hessian(lambda t: self.f(t)))(th)
        if self.features is not None:
            tbar = self.shifts.mean(0)
            phi = self.features
            H = H - vmap(func_hessian(lambda t: (phi(t) * tbar).sum()))(th)
        return H.reshape(*lead, self.d, self.d)


# --- a shifted loss from a named separable potential (sgdsde.potentials) -----------------------


def from_potential(potential: Any, shifts: torch.Tensor) -> ShiftedLoss:
    """ℓ_i(θ) = Σ_j U(θ_j) − t_iᵀθ for a separable potential U given as a drift field b = −U'.

    ``potential`` is a field of :mod:`sgdsde.potentials` with a ``potential(x)`` method (U,
    elementwise) whose call returns the drift −U'(x) elementwise, e.g.
    :class:`sgdsde.potentials.QuarticDoubleWell`. Then L_n = Σ_j U(θ_j) − t̄ᵀθ, and the gradient
    noise is additive: g_i − g_n = t̄ − t_i, Σ_emp = the covariance of the shifts.

    Parameters
    ----------
    potential : a field with ``potential`` (U) and ``__call__`` (−U'), both elementwise
    shifts : Tensor ``(n, d)`` (or ``(n,)`` for d = 1), floating: the t_i

    Returns
    -------
    ShiftedLoss (the Hessian by ``torch.func``)

    Examples
    --------
    The double well of the stationary-law chapter, ℓ_i(θ) = θ⁴/4 − θ²/2 − c_iθ:

    >>> from sgdsde.potentials import QuarticDoubleWell
    >>> c = torch.tensor([[-1.0], [0.5], [0.5]], dtype=torch.float64)
    >>> dw = from_potential(QuarticDoubleWell(), c)
    >>> dw.per_sample_grads(torch.tensor([2.0], dtype=torch.float64)).squeeze(-1)
    tensor([7.0000, 5.5000, 5.5000], dtype=torch.float64)
    >>> float(dw.hessian(torch.tensor([2.0], dtype=torch.float64)))     # 3θ² − 1
    11.0
    """
    if not (callable(potential) and callable(getattr(potential, "potential", None))):
        raise TypeError(
            "potential must be a field with a potential(x) method and a drift call −U'(x) "
            f"(e.g. sgdsde.potentials.QuarticDoubleWell), got {type(potential).__name__}"
        )

    def f(th: torch.Tensor) -> torch.Tensor:
        return potential.potential(th).sum(-1)

    def g(th: torch.Tensor) -> torch.Tensor:
        return -potential(th)

    return ShiftedLoss(f, shifts, grad=g)


__all__ += ["from_potential"]


# --- a loss whose gradient noise has variance s₀ + s₁θ² (multiplicative, exactly) ----------------


def quadratic_variance_loss(h: float, s0: float, s1: float, shifts: torch.Tensor) -> ShiftedLoss:
    """ℓ_i(θ) = hθ²/2 − c_i F(θ) with F′(θ) = √(s₀ + s₁θ²), coordinate-wise.

    With shifts c_i of mean 0 and variance 1 (per coordinate), L_n = h|θ|²/2 and the gradient noise
    g_i − g_n = −c_i F′(θ) has the exact variance Σ(θ) = s₀ + s₁θ² (diagonal, per coordinate): the
    simplest loss with multiplicative, state-dependent noise. F(θ) = (θ/2)√(s₀ + s₁θ²) +
    s₀/(2√s₁)·asinh(θ√(s₁/s₀)).

    Parameters
    ----------
    h : float > 0, the curvature
    s0, s1 : float > 0, the noise variance at θ = 0 and its growth
    shifts : Tensor ``(n, d)`` (or ``(n,)``), floating: the c_i

    Returns
    -------
    ShiftedLoss

    Examples
    --------
    >>> c = torch.tensor([-1.0, 1.0], dtype=torch.float64)
    >>> q = quadratic_variance_loss(1.0, 1.0, 0.5, c)
    >>> th = torch.tensor([2.0], dtype=torch.float64)
    >>> q.per_sample_grads(th).squeeze(-1)                  # hθ ∓ √(1 + 0.5·4) = 2 ∓ √3
    tensor([3.7321, 0.2679], dtype=torch.float64)
    """
    for name, v in (("h", h), ("s0", s0), ("s1", s1)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < float("inf"):
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    h_, s0_, s1_ = float(h), float(s0), float(s1)
    r = (s1_ / s0_) ** 0.5
    k = s0_ / (2 * s1_**0.5)

    def f(th: torch.Tensor) -> torch.Tensor:
        return 0.5 * h_ * (th**2).sum(-1)

    def g(th: torch.Tensor) -> torch.Tensor:
        return h_ * th

    def F(th: torch.Tensor) -> torch.Tensor:
        return th / 2 * torch.sqrt(s0_ + s1_ * th**2) + k * torch.asinh(th * r)

    t = check_tensor("shifts", shifts)
    d = 1 if t.ndim == 1 else int(t.shape[-1])
    return ShiftedLoss(f, shifts, grad=g, features=F, d=d)


__all__ += ["quadratic_variance_loss"]
