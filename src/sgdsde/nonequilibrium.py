"""Non-equilibrium stationary laws in the plane: curl of the current, a time-symmetric current
estimator for sampled paths, and the small-noise expansion of the stationary law.

Convention (Itô, as in :mod:`sgdsde.fokker_planck`): for dθ = b dt + σ dW with a = σσᵀ the usual
probability current is :math:`J = b p - \\tfrac12 \\nabla\\cdot(a p)` and a stationary law has
∇·J = 0. For SGD's SDE (notes (23)), b = −∇L_n and a = εΣ(θ) with ε = η/B.

Small-noise expansion (:class:`SmallNoiseExpansion`). Around a minimum θ*, with
x = (θ − θ*)/√ε, H = ∇²L(θ*), T = ∇³L(θ*), Σ₀ = Σ(θ*), Σ₁ = ∇Σ(θ*) (``Sigma1[i, j, k] =
∂_k Σ_ij``), the stationary density of x is q = q₀(1 + √ε P(x)) + O(ε) with q₀ = N(0, S),
HS + SH = Σ₀, and P the odd cubic polynomial that solves

.. math::
    -(SHS^{-1}x)\\cdot\\nabla P + \\tfrac12\\operatorname{tr}(\\Sigma_0 \\nabla^2 P) = -R(x),\\quad
    R = \\frac{\\partial_i(\\tfrac12 T_{ijk}x_jx_k\\, q_0)
            + \\tfrac12 \\partial_i\\partial_j(\\Sigma_{1,ijk}x_k\\, q_0)}{q_0}.

Examples
--------
>>> import torch
>>> H = torch.diag(torch.tensor([1.0, 2.0], dtype=torch.float64))
>>> e = SmallNoiseExpansion(H, torch.zeros(2, 2, 2, dtype=torch.float64), torch.eye(2,
...     dtype=torch.float64), torch.zeros(2, 2, 2, dtype=torch.float64))
>>> e.S.diagonal().tolist(), float(e.coef.abs().max())      # quadratic L, constant Σ: no P
([0.5, 0.25], 0.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations_with_replacement

import scipy.linalg
import torch

__all__ = [
    "current_curl",
    "cell_mass",
    "cell_current",
    "symmetric_current",
    "CurrentEstimate",
    "SmallNoiseExpansion",
]


def current_curl(res) -> torch.Tensor:
    """Scalar curl ∂_x J_y − ∂_y J_x of a 2-D current on the solver's grid (central differences).

    Parameters
    ----------
    res : :class:`sgdsde.fokker_planck.Stationary2D` (uses ``.j (ny, nx, 2)``, ``.hx``, ``.hy``)

    Returns
    -------
    Tensor ``(ny, nx)`` (one-sided differences on the edges)

    Examples
    --------
    >>> import torch
    >>> from types import SimpleNamespace
    >>> g = torch.linspace(-1, 1, 21, dtype=torch.float64)
    >>> Y, X = torch.meshgrid(g, g, indexing="ij")
    >>> rot = SimpleNamespace(j=torch.stack([-Y, X], -1), hx=0.1, hy=0.1)   # rigid rotation
    >>> bool(torch.allclose(current_curl(rot), torch.full_like(X, 2.0)))
    True
    """
    j = torch.as_tensor(res.j)
    if j.ndim != 3 or j.shape[-1] != 2:
        raise ValueError(f"res.j must have shape (ny, nx, 2); got {tuple(j.shape)}")
    djy_dx = torch.gradient(j[..., 1], spacing=float(res.hx), dim=1)[0]
    djx_dy = torch.gradient(j[..., 0], spacing=float(res.hy), dim=0)[0]
    return djy_dx - djx_dy


def _mask(res, mask) -> torch.Tensor:
    m = torch.as_tensor(mask)
    if m.dtype != torch.bool or m.shape != res.p.shape:
        raise ValueError(f"mask must be a bool tensor of shape {tuple(res.p.shape)} (ny, nx)")
    return m


def cell_mass(res, mask) -> float:
    """Probability of the union of grid cells ``mask`` under the solver's law: Σ p hx hy.

    Examples
    --------
    >>> import torch
    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(p=torch.full((4, 4), 1 / 16.0), hx=1.0, hy=1.0)
    >>> cell_mass(r, torch.ones(4, 4, dtype=torch.bool))
    1.0
    """
    return float(res.p[_mask(res, mask)].sum() * res.hx * res.hy)


def cell_current(res, mask) -> torch.Tensor:
    """∫_A J over the union of grid cells A = ``mask``: Σ J hx hy, a ``(2,)`` tensor.

    Examples
    --------
    >>> import torch
    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(p=torch.zeros(2, 2), j=torch.ones(2, 2, 2), hx=0.5, hy=0.5)
    >>> cell_current(r, torch.ones(2, 2, dtype=torch.bool)).tolist()
    [1.0, 1.0]
    """
    return res.j[_mask(res, mask)].sum(0) * res.hx * res.hy


@dataclass
class CurrentEstimate:
    """Monte Carlo estimate of ∫_A J for regions A: ``value (R, 2)``, ``se (R, 2)``, ``chains``.

    Examples
    --------
    >>> import torch
    >>> CurrentEstimate(torch.zeros(1, 2), torch.ones(1, 2), 100).chains
    100
    """

    value: torch.Tensor
    se: torch.Tensor
    chains: int


def symmetric_current(x, times, lag: int, inside, dt: float, *, richardson: bool = True):
    """Time-symmetric estimate of ∫_A J from stationary paths, per region A.

    With v_Δ = (X_{t+Δ} − X_{t−Δ})/(2Δ), E[v_Δ 1{X_t ∈ A}] = ∫_A J + O(Δ): the forward increment
    has mean bΔ, the backward one the reversed drift's, and their sum leaves 2(J/p)Δ (the O(1)
    part of each one-sided estimate, ∫_A b p or ∫_A (b − ∇·(ap)/p) p, cancels). With
    ``richardson`` the per-chain value is 2v_Δ − v_{2Δ} (bias O(Δ²)). Each chain's values are
    averaged over ``times``; the chains are independent, so the SE is the across-chain SD / √N.

    Parameters
    ----------
    x : Tensor ``(T, chains, d)``, saved states at a spacing of ``dt`` time units
    times : sequence of int, indices t with ``t − 2·lag ≥ 0`` and ``t + 2·lag < T``
    lag : int ≥ 1, Δ = lag·dt
    inside : Tensor ``(R, len(times), chains)`` bool: is X_t in region r
    dt : float > 0, time between saved states
    richardson : bool

    Returns
    -------
    CurrentEstimate

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(12.0, dtype=torch.float64).reshape(6, 1, 2).expand(6, 3, 2)  # drift 2/dt
    >>> est = symmetric_current(x, [2, 3], 1, torch.ones(1, 2, 3, dtype=torch.bool), 0.5)
    >>> est.value.tolist(), est.se.tolist()
    ([[4.0, 4.0]], [[0.0, 0.0]])
    """
    x = torch.as_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (T, chains, d); got {tuple(x.shape)}")
    T, N = x.shape[0], x.shape[1]
    if isinstance(lag, bool) or int(lag) != lag or lag < 1:
        raise ValueError(f"lag must be an int >= 1; got {lag!r}")
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite number > 0; got {dt!r}")
    reach = 2 * lag if richardson else lag
    times = [int(t) for t in times]
    if not times or min(times) - reach < 0 or max(times) + reach >= T:
        raise ValueError(f"times must lie in [{reach}, {T - 1 - reach}] for lag {lag}; got {times}")
    inside = torch.as_tensor(inside)
    if inside.dtype != torch.bool or inside.shape[1:] != (len(times), N):
        raise ValueError(
            f"inside must be bool of shape (R, {len(times)}, {N}); got "
            f"{tuple(inside.shape)} {inside.dtype}"
        )
    t = torch.tensor(times)
    v = (x[t + lag] - x[t - lag]) / (2 * lag * dt)  # (K, N, d)
    if richardson:
        v = 2 * v - (x[t + 2 * lag] - x[t - 2 * lag]) / (4 * lag * dt)
    per_chain = (inside[..., None].to(x.dtype) * v).mean(1)  # (R, N, d)
    value = per_chain.mean(1)
    se = per_chain.std(1) / math.sqrt(N)
    return CurrentEstimate(value=value, se=se, chains=N)


def _monomials(d: int):
    """Exponent tuples of the odd monomials of degree 1 and 3 in d variables."""
    out: list[tuple[int, ...]] = [(i,) for i in range(d)]
    out += list(combinations_with_replacement(range(d), 3))
    return out


class SmallNoiseExpansion:
    """Stationary law of dθ = −∇L dt + √ε Σ(θ)^{1/2} dW to order √ε around a minimum θ*.

    Parameters
    ----------
    H : Tensor ``(d, d)`` symmetric positive definite, ∇²L(θ*)
    T : Tensor ``(d, d, d)`` symmetric, ∇³L(θ*)
    Sigma0 : Tensor ``(d, d)`` symmetric positive definite, Σ(θ*)
    Sigma1 : Tensor ``(d, d, d)``, ``Sigma1[i, j, k] = ∂_k Σ_ij(θ*)``

    Attributes
    ----------
    S : Tensor ``(d, d)``, HS + SH = Σ₀ (the law of θ is ≈ N(θ*, εS))
    monomials : list of index tuples; ``coef`` : Tensor, P = Σ coef_m Π_{i∈m} x_i
    residual : float, max relative residual of the polynomial equation (≈ rounding)

    Examples
    --------
    >>> import torch
    >>> f64 = torch.float64
    >>> T = torch.zeros(1, 1, 1, dtype=f64); T[0, 0, 0] = 6.0        # L = θ²/2 + θ³
    >>> e = SmallNoiseExpansion(torch.eye(1, dtype=f64), T, torch.eye(1, dtype=f64),
    ...                         torch.zeros(1, 1, 1, dtype=f64))
    >>> [round(float(c), 6) + 0.0 for c in e.coef]   # p ∝ exp(−2L/ε) = q₀(1 − 2√ε x³ + …)
    [0.0, -2.0]
    """

    def __init__(self, H, T, Sigma0, Sigma1):
        H = torch.as_tensor(H)
        if H.ndim != 2 or H.shape[0] != H.shape[1] or not H.is_floating_point():
            raise ValueError(f"H must be a floating (d, d) matrix; got {tuple(H.shape)}")
        d = H.shape[0]
        f64 = torch.float64
        H, T, S0, S1 = (torch.as_tensor(v).to(f64) for v in (H, T, Sigma0, Sigma1))
        for name, v, shape in (
            ("T", T, (d, d, d)),
            ("Sigma0", S0, (d, d)),
            ("Sigma1", S1, (d, d, d)),
        ):
            if v.shape != shape:
                raise ValueError(f"{name} must have shape {shape}; got {tuple(v.shape)}")
            if not bool(torch.isfinite(v).all()):
                raise ValueError(f"{name} must be finite")
        if float(torch.linalg.eigvalsh(0.5 * (H + H.T)).min()) <= 0:
            raise ValueError("H must be positive definite (a strict minimum)")
        if float(torch.linalg.eigvalsh(0.5 * (S0 + S0.T)).min()) <= 0:
            raise ValueError("Sigma0 must be positive definite")
        self.d, self.H, self.T, self.Sigma0, self.Sigma1 = d, H, T, S0, S1
        S = torch.as_tensor(scipy.linalg.solve_continuous_lyapunov(H.numpy(), S0.numpy()))
        self.S = 0.5 * (S + S.T)
        self.G = torch.linalg.inv(self.S)
        self.monomials = _monomials(d)
        self.coef, self.residual = self._solve()

    def source(self, x: torch.Tensor) -> torch.Tensor:
        """R(x) at points ``(..., d)`` (see the module docstring)."""
        T, S1, G = self.T, self.Sigma1, self.G
        u = x @ G
        r = torch.einsum("iik,...k->...", T, x)
        r = r - 0.5 * torch.einsum("ijk,...j,...k,...i->...", T, x, x, u)
        r = r - torch.einsum("ijj,...i->...", S1, u)
        uu = u[..., :, None] * u[..., None, :] - G
        return r + 0.5 * torch.einsum("ijk,...k,...ij->...", S1, x, uu)

    def _basis(self, x: torch.Tensor):
        """Values, gradients and Hessians of the monomials at x ``(N, d)``."""
        N, d = x.shape
        vals, grads, hess = [], [], []
        for m in self.monomials:
            e = torch.zeros(d, dtype=torch.long)
            for i in m:
                e[i] += 1
            v = torch.prod(x**e, -1)
            g = torch.zeros(N, d, dtype=x.dtype)
            h = torch.zeros(N, d, d, dtype=x.dtype)
            for i in range(d):
                if e[i] > 0:
                    ei = e.clone()
                    ei[i] -= 1
                    g[:, i] = e[i] * torch.prod(x**ei, -1)
                    for j in range(d):
                        if ei[j] > 0:
                            eij = ei.clone()
                            eij[j] -= 1
                            h[:, i, j] = e[i] * ei[j] * torch.prod(x**eij, -1)
            vals.append(v)
            grads.append(g)
            hess.append(h)
        return torch.stack(vals, -1), torch.stack(grads, -1), torch.stack(hess, -1)

    def _solve(self):
        d = self.d
        gen = torch.Generator().manual_seed(0)  # collocation points, not a random draw of the law
        x = torch.randn(8 * len(self.monomials) + 16, d, dtype=torch.float64, generator=gen)
        _, g, h = self._basis(x)
        M = self.S @ self.H @ self.G
        A = -torch.einsum("ij,nj,nik->nk", M, x, g) + 0.5 * torch.einsum(
            "ij,nijk->nk", self.Sigma0, h
        )
        rhs = -self.source(x)
        coef = torch.linalg.lstsq(A, rhs[:, None]).solution[:, 0]
        scale = float(rhs.abs().max()) + float(A.abs().max()) * float(coef.abs().max()) + 1e-300
        return coef, float((A @ coef - rhs).abs().max()) / scale

    def polynomial(self, x: torch.Tensor) -> torch.Tensor:
        """P(x) at scaled points ``(..., d)``."""
        x = torch.as_tensor(x, dtype=torch.float64)
        v, _, _ = self._basis(x.reshape(-1, self.d))
        return (v @ self.coef).reshape(x.shape[:-1])

    def density(self, theta, eps: float, center=None, *, corrected: bool = True) -> torch.Tensor:
        """N(θ*, εS) density at θ ``(..., d)``, times (1 + √ε P((θ − θ*)/√ε)) if ``corrected``.

        The corrected density is signed where |√ε P| > 1 (far tails); it integrates to 1 (P odd).
        """
        if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be a finite number > 0; got {eps!r}")
        theta = torch.as_tensor(theta, dtype=torch.float64)
        c = (
            torch.zeros(self.d, dtype=torch.float64)
            if center is None
            else torch.as_tensor(center, dtype=torch.float64)
        )
        x = (theta - c) / math.sqrt(eps)
        q = torch.exp(-0.5 * ((x @ self.G) * x).sum(-1))
        q = q / math.sqrt((2 * math.pi) ** self.d * float(torch.linalg.det(self.S)))
        if corrected:
            q = q * (1 + math.sqrt(eps) * self.polynomial(x))
        return q / eps ** (self.d / 2)
