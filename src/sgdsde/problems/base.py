"""The Problem contract: a finite-sum objective over a flat θ, and its shared argument checks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from .._validate import IN_RANGE_ATTR, check_float_dtype, check_tensor

__all__ = ["Problem"]


class Problem(ABC):
    """Abstract base: a finite-sum objective L_n(θ) = (1/n) Σ_i ℓ(θ; x_i, y_i) over a flat θ ∈ R^d.

    Every method accepts θ of shape ``(d,)`` or a batch of chains ``(..., d)`` and keeps the
    leading batch shape:

    =========================  ====================  =============================================
    method                     shape                 notes' object
    =========================  ====================  =============================================
    ``per_sample_losses(θ)``   ``(..., n)``          ℓ(θ; x_i, y_i)            (abstract)
    ``loss(θ)``                ``(...,)``            L_n(θ) = (1/n) Σ_i ℓ_i     (mean of the above)
    ``per_sample_grads(θ)``    ``(..., n, d)``       g_i(θ)                    (abstract)
    ``grad(θ)``                ``(..., d)``          g_n(θ) = ∇L_n(θ)           (mean of the above)
    ``batch_grad(θ, idx)``     ``(chains, d)``       g_B(θ) = (1/B) Σ_{i∈B} g_i (abstract)
    ``hessian(θ)``             ``(..., d, d)``       ∇²L_n(θ)                  (optional)
    =========================  ====================  =============================================

    Subclasses set ``n``, ``d``, ``dtype``, ``device``, ``theta0`` and validate their arguments with
    ``_theta`` and ``_idx``, so that every problem refuses bad input the same way:

    * θ: a tensor with last dimension d, of the problem's dtype (a float32 θ for a float64
      problem is a ``TypeError`` naming the argument; nothing is cast silently) and device; a
      non-tensor (list, numpy array) is converted to the problem's dtype;
    * idx: an integer tensor ``(..., B)`` with entries in [0, n − 1] (``IndexError`` otherwise).

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(8, 3, seed=1))
    >>> isinstance(p, Problem), p.n, p.d
    (True, 8, 3)
    >>> p.batch_grad(p.theta0, torch.tensor([[8]]))
    Traceback (most recent call last):
    ...
    IndexError: idx must hold indices in [0, n - 1] = [0, 7]; got values in [8, 8]
    """

    n: int
    d: int
    dtype: torch.dtype
    device: torch.device
    theta0: torch.Tensor

    # -- shared validation -----------------------------------------------------------------
    def _theta(self, theta: Any, name: str = "theta") -> torch.Tensor:
        """Validate θ: a floating tensor of this problem's dtype/device with last dim ``d``."""
        if not isinstance(theta, torch.Tensor):
            theta = torch.as_tensor(theta, dtype=self.dtype, device=self.device)
        if theta.ndim == 0 or theta.shape[-1] != self.d:
            raise ValueError(
                f"{name} must have shape (d,) or (..., d) with d = {self.d}; "
                f"got {tuple(theta.shape)}"
            )
        check_float_dtype(name, theta, self.dtype)
        if theta.device != self.device:
            raise ValueError(
                f"{name} is on {theta.device}; this problem's data are on {self.device}"
            )
        return theta

    def _idx(self, idx: Any, theta: torch.Tensor) -> torch.Tensor:
        """Validate batch indices ``idx`` (..., B) against θ (..., d) and the range [0, n − 1]."""
        idx = check_tensor("idx", idx)
        if idx.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"idx must be an integer (long) tensor, got {idx.dtype}")
        if idx.ndim == 0 or idx.shape[-1] < 1:
            raise ValueError(f"idx must have shape (..., B) with B >= 1; got {tuple(idx.shape)}")
        if theta.ndim > 1 and idx.shape[:-1] != theta.shape[:-1]:
            raise ValueError(
                f"idx leading shape {tuple(idx.shape[:-1])} must match theta's "
                f"{tuple(theta.shape[:-1])}"
            )
        if getattr(idx, IN_RANGE_ATTR, None) != self.n:  # not from a sampler over these n samples
            lo, hi = int(idx.min()), int(idx.max())
            if lo < 0 or hi >= self.n:
                raise IndexError(
                    f"idx must hold indices in [0, n - 1] = [0, {self.n - 1}]; "
                    f"got values in [{lo}, {hi}]"
                )
        return idx.to(self.device)

    def _batch_shape(self, theta: torch.Tensor, idx: torch.Tensor) -> tuple[int, ...]:
        return tuple(idx.shape[:-1]) if theta.ndim == 1 else tuple(theta.shape[:-1])

    # -- the contract ----------------------------------------------------------------------
    @abstractmethod
    def per_sample_losses(self, theta: torch.Tensor) -> torch.Tensor:
        """ℓ(θ; x_i, y_i) for every sample: θ ``(..., d)`` → ``(..., n)``."""

    def loss(self, theta: torch.Tensor) -> torch.Tensor:
        """Empirical risk L_n(θ): θ ``(..., d)`` → ``(...,)``."""
        return self.per_sample_losses(theta).mean(-1)

    @abstractmethod
    def per_sample_grads(self, theta: torch.Tensor) -> torch.Tensor:
        """Per-sample gradients g_i(θ): θ ``(..., d)`` → ``(..., n, d)``."""

    def grad(self, theta: torch.Tensor) -> torch.Tensor:
        """Empirical gradient g_n(θ) = (1/n) Σ_i g_i(θ): θ ``(..., d)`` → ``(..., d)``."""
        return self.per_sample_grads(theta).mean(-2)

    @abstractmethod
    def batch_grad(self, theta: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Minibatch gradient g_B(θ) = (1/B) Σ_{i ∈ idx} g_i(θ), computing only the batch.

        Parameters
        ----------
        theta : Tensor ``(chains, d)`` (or ``(d,)``, shared by every row of ``idx``)
        idx : LongTensor ``(chains, B)`` with entries in [0, n − 1] (repeated indices count with
            multiplicity)

        Returns
        -------
        Tensor ``(chains, d)``
        """

    def hessian(self, theta: torch.Tensor) -> torch.Tensor:
        """Hessian ∇²L_n(θ): θ ``(..., d)`` → ``(..., d, d)``."""
        raise NotImplementedError(f"{type(self).__name__} has no cheap Hessian")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n={self.n}, d={self.d}, dtype={self.dtype}, "
            f"device={self.device})"
        )
