"""Kesten tails of SGD iterates: the tail index of online least squares from a moment equation.

Online (fresh-sample) least squares with standard Gaussian inputs ``x ~ N(0, I_d)``, labels
``y = xᵀθ* + σε`` and step ``θ_{k+1} = θ_k − (η/B) X_kᵀ(X_kθ_k − y_k)`` is, for the error
``θ_k − θ*``, the random linear recursion

.. math::
    \\theta_{k+1} = A_k\\theta_k + b_k, \\qquad A_k = I - \\tfrac{\\eta}{B}X_k^\\top X_k,
    \\qquad b_k = \\tfrac{\\eta\\sigma}{B}X_k^\\top\\varepsilon_k,

with i.i.d. pairs (A_k, b_k). By rotation invariance ‖A u‖ has the same law for every unit u, so
the norm of a product applied to e₁ is a product of i.i.d. factors ‖A e₁‖ and

.. math::
    h(\\alpha) = \\mathbb E\\|A e_1\\|^\\alpha
    = \\mathbb E\\big[((1 - cQ)^2 + c^2 Q R)^{\\alpha/2}\\big],\\quad c = \\eta/B,\\
    Q \\sim \\chi^2_B,\\ R \\sim \\chi^2_{d-1}\\ \\text{independent}

(write X = [u, V] with u = X e₁: XᵀX e₁ = (‖u‖², Vᵀu) and ‖Vᵀu‖² = ‖u‖² R). The top Lyapunov
exponent is h'(0) = E log‖A e₁‖; when it is negative the recursion has a unique stationary law,
whose tail index α (P(|uᵀθ| > t) ~ C t^{−α} for every direction u) is the positive root of
h(α) = 1 (Kesten 1973; Goldie 1991 in 1-D; Gürbüzbalaban, Şimşekli & Zhu 2021 for this model).
h is convex with h(0) = 1 and h(α) → ∞ (Q is unbounded), so the root exists and is unique.

:func:`kesten_moment` computes h by adaptive quadrature in Q (split at Q = 1/c, where
``|1 − cQ|`` vanishes) and, for d > 1, generalised Gauss–Laguerre quadrature in R;
:func:`kesten_tail_index` finds the root; :func:`finite_sum_tail_index` is the same equation for
SGD on a fixed 1-D data set (batches drawn with replacement), where A takes finitely many values.

Examples
--------
>>> a = kesten_tail_index(2 / 3, 1)                # E A² = 1 − 2η + 3η² = 1 at η = 2/3
>>> abs(a - 2) < 1e-7
True
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from scipy import integrate, optimize, special

__all__ = [
    "kesten_moment",
    "lyapunov_exponent",
    "kesten_tail_index",
    "variance_threshold_lr",
    "finite_sum_tail_index",
]

_LAGUERRE_NODES = 96


def _check_args(lr, batch_size, dim) -> tuple[float, int, int]:
    if (
        isinstance(lr, bool)
        or not isinstance(lr, Real)
        or not (math.isfinite(float(lr)) and float(lr) > 0)
    ):
        raise ValueError(f"lr (η) must be a finite number > 0; got {lr!r}")
    for name, v in (("batch_size", batch_size), ("dim", dim)):
        if isinstance(v, bool) or not isinstance(v, Integral) or int(v) < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {v!r}")
    return float(lr), int(batch_size), int(dim)


def _expect(f, lr: float, batch_size: int, dim: int, log: bool, peak: float = 0.0) -> float:
    """E over Q ~ χ²_B and R ~ χ²_{d−1} of ``f(s)``, s = (1 − cQ)² + c²QR (R by Laguerre).

    With ``log=True``, ``f`` returns log-values and the integrand is exp(f) (no overflow before
    the density's factor is applied)."""
    c = lr / batch_size
    if dim > 1:
        m = (dim - 1) / 2
        u, w = special.roots_genlaguerre(_LAGUERRE_NODES, m - 1)
        logw = np.log(w) - special.gammaln(m)
    else:
        u = logw = None
    lognorm = (batch_size / 2) * math.log(2) + special.gammaln(batch_size / 2)

    def integrand(q):
        s = (1 - c * q) ** 2 if u is None else (1 - c * q) ** 2 + 2 * c * c * q * u
        logpdf = (batch_size / 2 - 1) * math.log(q) - q / 2 - lognorm
        if log:
            if logw is None:
                v = f(s)
            else:
                t = logw + f(s)
                tm = t.max()
                v = tm + math.log(np.exp(t - tm).sum()) if math.isfinite(tm) else tm
            return math.exp(min(v + logpdf, 700.0))
        v = f(s) if logw is None else float(np.dot(np.exp(logw), f(s)))
        return v * math.exp(logpdf)

    opts = dict(epsabs=0.0, epsrel=1e-10, limit=400)
    # breakpoints: |1 − cQ| = 0 at Q = 1/c, and the peak of (cQ − 1)^α χ²-density near
    # Q = 1/c + 2α + B, which adaptive quadrature on [1/c, ∞) would miss for large α
    pts = [0.0, 1 / c]
    if peak > 0:
        pts += [1 / c + 0.5 * peak, 1 / c + peak, 1 / c + 2 * peak]
    pts.append(np.inf)
    return sum(integrate.quad(integrand, a, b, **opts)[0] for a, b in zip(pts, pts[1:]))


def kesten_moment(alpha: float, lr: float, batch_size: int, dim: int = 1) -> float:
    """h(α) = E‖(I − (η/B) XᵀX) e₁‖^α for X with i.i.d. N(0, 1) entries, ``(B, d)``.

    Parameters
    ----------
    alpha : float ≥ 0
    lr : float > 0 (η)
    batch_size : int ≥ 1 (B)
    dim : int ≥ 1 (d)

    Returns
    -------
    float (``inf`` on overflow)

    Accuracy: relative 1e-10 in 1-D (adaptive quadrature); for d > 1 the R-integral uses 96
    Gauss–Laguerre nodes (checked against Monte Carlo in the tests).

    Examples
    --------
    >>> abs(kesten_moment(2, 0.3, 4) - (1 - 2 * 0.3 + 0.3**2 * 24 / 16)) < 1e-10   # E Q² = B(B+2)
    True
    """
    lr, batch_size, dim = _check_args(lr, batch_size, dim)
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not alpha >= 0:
        raise ValueError(f"alpha must be a number >= 0; got {alpha!r}")
    if alpha == 0:
        return 1.0
    with np.errstate(over="ignore", divide="ignore"):
        return _expect(
            lambda s: alpha / 2 * np.log(s), lr, batch_size, dim, True, 2 * alpha + batch_size
        )


def lyapunov_exponent(lr: float, batch_size: int, dim: int = 1) -> float:
    """E log‖(I − (η/B) XᵀX) e₁‖: the top Lyapunov exponent of the recursion (h'(0)).

    Negative iff the recursion has a stationary law.

    Examples
    --------
    >>> lyapunov_exponent(0.1, 1) < 0 < lyapunov_exponent(4.0, 1)
    True
    """
    lr, batch_size, dim = _check_args(lr, batch_size, dim)
    with np.errstate(divide="ignore"):
        return _expect(lambda s: 0.5 * np.log(s), lr, batch_size, dim, False)


def variance_threshold_lr(batch_size: int, dim: int = 1) -> float:
    """The η at which α = 2 exactly: E‖A e₁‖² = 1 − 2cB + c²B(B + d + 1) = 1, η = 2B/(B + d + 1).

    Beyond it the stationary iterates have infinite variance.

    Examples
    --------
    >>> variance_threshold_lr(1), variance_threshold_lr(2, 3)
    (0.6666666666666666, 0.6666666666666666)
    """
    _, batch_size, dim = _check_args(1.0, batch_size, dim)
    return 2 * batch_size / (batch_size + dim + 1)


def _root(h, lyap: float, alpha_max: float, what: str) -> float:
    if not lyap < 0:
        raise ValueError(
            f"{what}: E log|A| = {lyap:.4g} >= 0, so the recursion θ ← Aθ + b has no stationary "
            "law (the iterates do not settle); reduce lr"
        )
    g = lambda a: math.log(h(a)) if h(a) > 0 else -np.inf  # noqa: E731
    hi = 1.0
    while g(hi) < 0:
        hi *= 2
        if hi > alpha_max:
            return math.inf
    lo = hi / 2
    while g(lo) >= 0:
        lo /= 2
        if lo < 1e-8:
            raise RuntimeError(f"{what}: could not bracket the root of h(α) = 1")
    return float(optimize.brentq(g, lo, hi, xtol=1e-12, rtol=1e-12))


def kesten_tail_index(
    lr: float, batch_size: int, dim: int = 1, *, alpha_max: float = 400.0
) -> float:
    """The tail index α > 0 of online least squares' stationary iterates: the root of h(α) = 1.

    Parameters
    ----------
    lr : float > 0 (η);  batch_size : int ≥ 1 (B);  dim : int ≥ 1 (d)
    alpha_max : float; above it ``inf`` is returned (the tail is too thin to matter)

    Raises
    ------
    ValueError
        On a bad argument, or when E log‖A e₁‖ ≥ 0 (no stationary law).

    Examples
    --------
    >>> a1, a2 = kesten_tail_index(0.5, 1), kesten_tail_index(1.0, 1)
    >>> a1 > 2 > a2 > 0                    # α = 2 at η = 2/3 for B = d = 1
    True
    >>> kesten_tail_index(5.0, 1)
    Traceback (most recent call last):
    ...
    ValueError: lr=5, B=1, d=1: E log|A| = 0.5326 >= 0, so the recursion θ ← Aθ + b has no stationary law (the iterates do not settle); reduce lr
    """
    lr, batch_size, dim = _check_args(lr, batch_size, dim)
    what = f"lr={lr:g}, B={batch_size}, d={dim}"
    return _root(
        lambda a: kesten_moment(a, lr, batch_size, dim),
        lyapunov_exponent(lr, batch_size, dim),
        alpha_max,
        what,
    )


def _batch_sums(x2: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Values and probabilities of Σ_{j≤B} x²_{i_j} for i_j i.i.d. uniform (with replacement)."""
    vals, probs = np.array([0.0]), np.array([1.0])
    p1 = np.full(x2.shape, 1 / x2.size)
    for _ in range(batch_size):
        vals = (vals[:, None] + x2[None, :]).ravel()
        probs = (probs[:, None] * p1[None, :]).ravel()
        vals, inv = np.unique(np.round(vals, 12), return_inverse=True)
        probs = np.bincount(inv, weights=probs)
    return vals, probs


def finite_sum_tail_index(x, lr: float, batch_size: int = 1, *, alpha_max: float = 400.0) -> float:
    """Tail index of SGD's iterates on 1-D least squares over a fixed data set ``x`` (finite sum).

    With batches of B indices drawn uniformly with replacement, A = 1 − (η/B)Σ_{j∈batch} x_j² takes
    finitely many values and h(α) = E|A|^α is a finite sum. If |A| ≤ 1 for every batch (i.e.
    η·max x_i² ≤ 2), every moment of the stationary law is finite: the result is ``inf``. Otherwise
    the tail index is the root of h(α) = 1 (Goldie's theorem needs log|A| non-arithmetic, which
    holds for generic data).

    Parameters
    ----------
    x : array of shape (n,), the inputs (n^B ≤ 10⁷)
    lr : float > 0;  batch_size : int ≥ 1

    Raises
    ------
    ValueError
        On bad input, or when E log|A| ≥ 0 (no stationary law).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.5, 1.0, 2.0])
    >>> finite_sum_tail_index(x, 0.4)                   # η max x² = 1.6 ≤ 2: bounded iterates
    inf
    >>> a = finite_sum_tail_index(x, 0.6)               # |1 − 0.6·4| = 1.4 > 1
    >>> abs((abs(1 - .15)**a + abs(1 - .6)**a + 1.4**a) / 3 - 1) < 1e-9
    True
    """
    lr, batch_size, _ = _check_args(lr, batch_size, 1)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 1 or not np.isfinite(x).all():
        raise ValueError(f"x must be a finite 1-D array with >= 1 entry; got shape {x.shape}")
    if float(x.size) ** batch_size > 1e7:
        raise ValueError(f"n^B = {x.size}^{batch_size} batches is too many to enumerate (> 1e7)")
    s, p = _batch_sums(x * x, batch_size)
    a = np.abs(1 - lr / batch_size * s)
    with np.errstate(divide="ignore"):
        lyap = float(np.dot(p, np.log(a)))
    if a.max() <= 1 and lyap < 0:
        return math.inf
    what = f"lr={lr:g}, B={batch_size}, n={x.size}"
    with np.errstate(over="ignore"):
        return _root(lambda al: float(np.dot(p, a**al)), lyap, alpha_max, what)
