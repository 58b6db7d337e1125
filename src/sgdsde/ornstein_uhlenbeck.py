"""The Ornstein–Uhlenbeck process dx = −A x dt + √(2D) dW: closed forms and exact sampling.

Examples
--------
>>> import torch
>>> from sgdsde.ornstein_uhlenbeck import OrnsteinUhlenbeck
>>> OrnsteinUhlenbeck(2.0, 1.0).stationary_cov().item()
0.5
"""

from __future__ import annotations

import math

import scipy.linalg
import torch

from ._validate import check_x0 as _check_x0
from .dynamics.path import Path

__all__ = ["OrnsteinUhlenbeck"]


class OrnsteinUhlenbeck:
    """The linear SDE dx = −A x dt + √(2D) dW (A stable, D symmetric positive semi-definite).

    Closed forms (all exact): mean ``e^{−At} x0``; covariance
    ``cov(t) = S − e^{−At} S e^{−Aᵀt} + e^{−At} cov0 e^{−Aᵀt}`` with the stationary covariance S
    solving the Lyapunov equation ``A S + S Aᵀ = 2D``; stationary law N(0, S); stationary
    probability current ``j(x) = (−A + D S⁻¹) x p(x)``, which vanishes for all x iff ``A S = D``
    (detailed balance). For symmetric A and D = I this always holds; for anisotropic D that does
    not commute with A it fails and probability circulates.

    Parameters
    ----------
    A : Tensor ``(d, d)`` or float
        Drift matrix (eigenvalues with positive real part for the stationary quantities).
    D : Tensor ``(d, d)`` or float
        Diffusion matrix, symmetric PSD (``a = σσᵀ = 2D``).

    Examples
    --------
    >>> import torch
    >>> ou = OrnsteinUhlenbeck(torch.tensor([[1.0, 0.0], [0.0, 3.0]], dtype=torch.float64),
    ...                        torch.tensor([[1.0, 0.5], [0.5, 1.0]], dtype=torch.float64))
    >>> S = ou.stationary_cov()
    >>> bool(torch.allclose(ou.A @ S + S @ ou.A.T, 2 * ou.D))
    True
    >>> ou.detailed_balance(), OrnsteinUhlenbeck(2.0, 1.0).detailed_balance()
    (False, True)
    """

    def __init__(self, A, D):
        A = torch.as_tensor(A)
        if not A.is_floating_point():
            A = A.to(torch.get_default_dtype())
        D = torch.as_tensor(D, dtype=A.dtype, device=A.device)
        if A.ndim == 0:
            A = A.reshape(1, 1)
        if D.ndim == 0:
            D = D.reshape(1, 1)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square (d, d) matrix, got {tuple(A.shape)}")
        if D.shape != A.shape:
            raise ValueError(f"D must have the shape of A {tuple(A.shape)}, got {tuple(D.shape)}")
        if not (bool(torch.isfinite(A).all()) and bool(torch.isfinite(D).all())):
            raise ValueError("A and D must be finite")
        tol = 1e-10 * max(1.0, float(D.abs().max()))
        if float((D - D.T).abs().max()) > tol:
            raise ValueError("D must be symmetric")
        if float(torch.linalg.eigvalsh(D).min()) < -tol:
            raise ValueError("D must be positive semi-definite")
        self.A, self.D = A, D
        self.d = A.shape[0]
        self._S = None

    def _check_stable(self) -> None:
        ev = torch.linalg.eigvals(self.A)
        if float(ev.real.min()) <= 0:
            raise ValueError(
                "A must have eigenvalues with positive real part for a stationary law; "
                f"min real part = {float(ev.real.min()):g}"
            )

    @property
    def sigma(self) -> torch.Tensor:
        """Symmetric square root of 2D, ``(d, d)``: the constant diffusion for :func:`simulate`."""
        w, V = torch.linalg.eigh(2 * self.D)
        return (V * w.clamp(min=0).sqrt()) @ V.T

    def drift(self, x: torch.Tensor) -> torch.Tensor:
        """b(x) = −A x: ``(..., d)`` → ``(..., d)``."""
        return -x @ self.A.T

    def stationary_cov(self) -> torch.Tensor:
        """S with A S + S Aᵀ = 2D, ``(d, d)`` (scipy's Bartels–Stewart solver, float64)."""
        if self._S is None:
            self._check_stable()
            a = self.A.detach().cpu().double().numpy()
            q = 2 * self.D.detach().cpu().double().numpy()
            S = scipy.linalg.solve_continuous_lyapunov(a, q)
            S = 0.5 * (S + S.T)
            self._S = torch.as_tensor(S, dtype=self.A.dtype, device=self.A.device)
        return self._S

    def _expm(self, t) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=self.A.dtype, device=self.A.device)
        if bool((t < 0).any()):
            raise ValueError("t must be >= 0")
        return torch.linalg.matrix_exp(-self.A * t[..., None, None])

    def mean(self, x0, t) -> torch.Tensor:
        """E[x_t | x_0] = e^{−At} x0: x0 ``(..., d)``, t float → ``(..., d)``.

        A 1-D tensor of times ``(T,)`` with x0 ``(d,)`` gives ``(T, d)``.
        """
        x0 = torch.as_tensor(x0, dtype=self.A.dtype, device=self.A.device)
        E = self._expm(t)
        return (E @ x0.unsqueeze(-1)).squeeze(-1)

    def cov(self, t, cov0=None) -> torch.Tensor:
        """Cov[x_t] = S − e^{−At} S e^{−Aᵀt} (+ e^{−At} cov0 e^{−Aᵀt}); ``(d, d)`` or ``(T, d, d)``."""
        S = self.stationary_cov()
        E = self._expm(t)
        C = S - E @ S @ E.mT
        if cov0 is not None:
            cov0 = torch.as_tensor(cov0, dtype=self.A.dtype, device=self.A.device)
            C = C + E @ cov0 @ E.mT
        return 0.5 * (C + C.mT)

    def sample(
        self, x0, t: float, chains: int = 1, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Exact draw of x_t given x_0: ``(chains, d)`` (x0 ``(d,)`` or ``(chains, d)``)."""
        x0 = _check_x0(torch.as_tensor(x0, dtype=self.A.dtype, device=self.A.device), chains)
        m = self.mean(x0, t)
        w, V = torch.linalg.eigh(self.cov(t))
        L = V * w.clamp(min=0).sqrt()
        z = torch.randn(m.shape, dtype=m.dtype, device=m.device, generator=generator)
        return m + z @ L.T

    def stationary_density(self, x) -> torch.Tensor:
        """N(0, S) density at x ``(..., d)`` → ``(...,)``."""
        S = self.stationary_cov()
        x = torch.as_tensor(x, dtype=S.dtype, device=S.device)
        P = torch.linalg.inv(S)
        q = torch.einsum("...i,ij,...j->...", x, P, x)
        logdet = torch.linalg.slogdet(S)[1]
        return torch.exp(-0.5 * q - 0.5 * logdet - 0.5 * self.d * math.log(2 * math.pi))

    def current_matrix(self) -> torch.Tensor:
        """M = −A + D S⁻¹, ``(d, d)``: the stationary current is j(x) = M x p(x)."""
        S = self.stationary_cov()
        return -self.A + self.D @ torch.linalg.inv(S)

    def stationary_current(self, x) -> torch.Tensor:
        """Stationary probability current j(x) = (−A + D S⁻¹) x p(x): ``(..., d)`` → ``(..., d)``."""
        x = torch.as_tensor(x, dtype=self.A.dtype, device=self.A.device)
        return (x @ self.current_matrix().T) * self.stationary_density(x).unsqueeze(-1)

    def detailed_balance(self, rtol: float = 1e-8) -> bool:
        """True iff the stationary current vanishes, i.e. A S = D (to relative tolerance ``rtol``)."""
        S = self.stationary_cov()
        AS = self.A @ S
        scale = max(
            float(torch.linalg.matrix_norm(AS)), float(torch.linalg.matrix_norm(self.D)), 1e-300
        )
        return bool(float(torch.linalg.matrix_norm(AS - self.D)) <= rtol * scale)

    def simulate(self, x0, dt: float, steps: int, **kwargs) -> Path:
        """Euler–Maruyama of this OU with :func:`sgdsde.sde.simulate` (constant general noise √(2D))."""
        from .sde import simulate

        return simulate(self.drift, self.sigma, x0, dt, steps, **kwargs)
