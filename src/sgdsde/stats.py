"""Monte Carlo helpers: standard errors, k-SE assertions, false-failure odds.

A seeded statistical check compares an estimate with its target within k standard errors of the
estimator (k = 5 by default). Under a normal approximation one such check fails by chance with
probability ``P(|Z| > k) = erfc(k/√2)`` (5.7e-7 at k = 5); m checks fail with probability at most m
times that (:func:`false_failure_prob` with ``checks=m``).
"""

from __future__ import annotations

import math
from numbers import Integral

import torch

__all__ = ["mean_se", "cov_se", "assert_within_se", "false_failure_prob", "ar1_filter"]


def _tensor(name: str, x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(x, dtype=torch.float64)
    if not x.is_floating_point():
        x = x.to(torch.float64)
    return x


def mean_se(x: torch.Tensor, dim: int = 0):
    """Sample mean and its standard error s/√N along ``dim`` (s with Bessel's correction).

    Examples
    --------
    >>> m, se = mean_se(torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64))
    >>> float(m), round(float(se), 6)
    (2.5, 0.645497)
    """
    x = _tensor("x", x)
    N = x.shape[dim]
    if N < 2:
        raise ValueError(f"x needs at least 2 samples along dim {dim}; got {N}")
    return x.mean(dim), x.std(dim, correction=1) / math.sqrt(N)


def cov_se(samples: torch.Tensor):
    """Sample covariance ``(d, d)`` of ``samples`` ``(N, d)`` and the standard error of each entry.

    S = Σ_i c_i c_iᵀ/(N−1) with c_i = x_i − x̄. The SE of S_jk is the standard error of the mean of
    w_i = c_ij c_ik, i.e. sd(w)/√N (delta method; it uses fourth moments, so it is valid for any
    distribution with finite fourth moments, Gaussian or not).

    Examples
    --------
    >>> x = torch.randn(4000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> S, se = cov_se(x)
    >>> S.shape, se.shape, bool((se[0, 0] - (2 / 4000) ** 0.5).abs() < 0.003)
    (torch.Size([2, 2]), torch.Size([2, 2]), True)
    """
    x = _tensor("samples", samples)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"samples must have shape (N, d) with N >= 2; got {tuple(x.shape)}")
    N = x.shape[0]
    c = x - x.mean(0)
    S = c.T @ c / (N - 1)
    w = c.unsqueeze(2) * c.unsqueeze(1)  # (N, d, d)
    return S, w.std(0, correction=1) / math.sqrt(N)


def false_failure_prob(k: float, checks: int = 1) -> float:
    """``P(|Z| > k)`` for standard normal Z (two-sided), times ``checks`` (union bound), capped at 1.

    Examples
    --------
    >>> f"{false_failure_prob(5.0):.2e}"
    '5.73e-07'
    """
    if not (isinstance(k, (int, float)) and k > 0 and math.isfinite(k)):
        raise ValueError(f"k must be a finite number > 0; got {k!r}")
    if isinstance(checks, bool) or not isinstance(checks, Integral) or checks < 1:
        raise ValueError(f"checks must be an int >= 1; got {checks!r}")
    return min(1.0, checks * math.erfc(k / math.sqrt(2.0)))


def assert_within_se(estimate, target, se, k: float = 5.0, what: str = "") -> float:
    """Assert ``|estimate − target| ≤ k·se`` entrywise (plus a rounding slack); return ``max |z|``.

    The slack ``64·eps·(|estimate| + |target|)`` only absorbs floating-point rounding (it matters when
    se = 0, e.g. a structurally exact entry). Shapes broadcast.

    Raises
    ------
    AssertionError
        Naming ``what``, the worst entry, its estimate, target, SE and z-score, how many entries
        failed, and the false-failure probability of the check.

    Examples
    --------
    >>> round(assert_within_se(1.02, 1.0, 0.01, what="mean"), 6)   # 2 SE: passes, returns |z|
    2.0
    >>> assert_within_se(1.2, 1.0, 0.01, what="mean")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: mean: 1 of 1 entries outside 5 SE; worst at index (): estimate 1.2, target 1, ...
    """
    est, tgt, s = _tensor("estimate", estimate), _tensor("target", target), _tensor("se", se)
    dt = torch.promote_types(torch.promote_types(est.dtype, tgt.dtype), s.dtype)
    est, tgt, s = est.to(dt), tgt.to(device=est.device, dtype=dt), s.to(device=est.device, dtype=dt)
    est, tgt, s = torch.broadcast_tensors(est, tgt, s)
    if bool((s < 0).any()) or not bool(torch.isfinite(s).all()):
        raise ValueError("se must be finite and >= 0")
    if not bool(torch.isfinite(est).all()):
        raise AssertionError(f"{what or 'estimate'}: non-finite estimate")
    diff = (est - tgt).abs()
    slack = 64 * torch.finfo(dt).eps * (est.abs() + tgt.abs())
    ok = diff <= k * s + slack
    z = torch.where(
        s > 0,
        diff / torch.where(s > 0, s, torch.ones_like(s)),
        torch.where(diff <= slack, torch.zeros_like(s), torch.full_like(s, math.inf)),
    )
    if not bool(ok.all()):
        i = int(torch.argmax(torch.where(ok, torch.zeros_like(z), z.nan_to_num(posinf=1e300))))
        where = (
            tuple(int(j) for j in torch.unravel_index(torch.tensor(i), est.shape))
            if est.ndim
            else ()
        )
        nbad = int((~ok).sum())
        raise AssertionError(
            f"{what or 'estimate'}: {nbad} of {est.numel()} entries outside {k:g} SE; "
            f"worst at index {where}: "
            f"estimate {float(est[where]):.6g}, target {float(tgt[where]):.6g}, SE {float(s[where]):.3g}, "
            f"z = {float(z[where]):.3g} (false-failure odds of this check at {k:g} SE: "
            f"{false_failure_prob(k, est.numel()):.2g})"
        )
    return float(z.max()) if z.numel() else 0.0


# --- Kullback–Leibler divergence between centred Gaussians ---------------------------------------


def gaussian_kl(S: torch.Tensor, P: torch.Tensor) -> float:
    """KL(N(0, S) ‖ N(0, P)) = ½(tr(P⁻¹S) − d − log det(P⁻¹S)), in nats.

    Parameters
    ----------
    S, P : Tensor ``(d, d)``, symmetric positive definite, same dtype and device

    Returns
    -------
    float ≥ 0 (0 iff S = P)

    Examples
    --------
    >>> I = torch.eye(2, dtype=torch.float64)
    >>> gaussian_kl(I, I)
    0.0
    >>> round(gaussian_kl(2 * I, I), 6)                   # ½(4 − 2 − 2 log 2)
    0.306853
    """
    S, P = _tensor("S", S), _tensor("P", P)
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape != P.shape:
        raise ValueError(
            f"S and P must be square matrices of one shape; got {tuple(S.shape)}, {tuple(P.shape)}"
        )
    for name, M in (("S", S), ("P", P)):
        if torch.linalg.cholesky_ex(M).info != 0:
            raise ValueError(f"{name} must be symmetric positive definite")
    R = torch.linalg.solve(P, S)
    d = S.shape[0]
    return max(0.0, 0.5 * (float(torch.trace(R)) - d - float(torch.logdet(R))))


__all__ += ["gaussian_kl"]


# ---- a linear filter: the AR(1) recursion y_k = a y_{k-1} + x_k ------------------------------


def ar1_filter(x: torch.Tensor, coef: float, dim: int = -1) -> torch.Tensor:
    """The AR(1) filter y_k = a·y_{k−1} + x_k along ``dim``, started at y_{−1} = 0.

    This is the heavy-ball velocity driven by a noise sequence (a = μ). It is computed by a
    doubling scan, y ← y + a^s·shift(y, s) for s = 1, 2, 4, … (⌈log₂ T⌉ passes, no loop over
    the T steps): after the pass with shift s, y_k = Σ_{j<2s} a^j x_{k−j}.

    Parameters
    ----------
    x : Tensor, floating point
        The input sequence, time along ``dim``.
    coef : float
        The coefficient a, finite (|a| < 1 for a stationary filter).
    dim : int
        The time axis.

    Returns
    -------
    Tensor of the shape and dtype of ``x``.

    Examples
    --------
    >>> x = torch.tensor([[1.0, 0.0, 0.0, 2.0]], dtype=torch.float64)
    >>> ar1_filter(x, 0.5)
    tensor([[1.0000, 0.5000, 0.2500, 2.1250]], dtype=torch.float64)
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError("x must be a floating-point tensor")
    if isinstance(coef, bool) or not isinstance(coef, (int, float)) or not math.isfinite(coef):
        raise ValueError(f"coef must be a finite real number; got {coef!r}")
    if not -x.ndim <= dim < max(x.ndim, 1):
        raise ValueError(f"dim must be in [{-x.ndim}, {x.ndim}); got {dim}")
    y = x.movedim(dim, -1).clone()
    T, s, a = y.shape[-1], 1, float(coef)
    while s < T:
        y = torch.cat([y[..., :s], y[..., s:] + (a**s) * y[..., :-s]], -1)
        s *= 2
    return y.movedim(-1, dim)
