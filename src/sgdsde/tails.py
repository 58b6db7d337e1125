"""Tail-index estimators with standard errors: Hill (1975) and Pickands (1975).

Both read the k largest magnitudes of an i.i.d. sample whose tail is P(|X| > t) ~ C t^{−α}.
They are biased when the power law only starts far out (the second-order term of the tail):
the bias grows with k/K while the standard error shrinks like 1/√k, so k must be chosen with
the law in mind; ``tests/test_tails.py`` measures the bias on Pareto and Student-t samples.
(:func:`sgdsde.levy.tail_index_hill` is the same Hill estimate without a standard error.)

Examples
--------
>>> import numpy as np
>>> u = np.random.default_rng(0).random(200_000)
>>> a, se = hill(u ** (-1 / 1.5), 2000)                  # Pareto, α = 1.5
>>> abs(a - 1.5) < 5 * se
True
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np

__all__ = ["hill", "pickands", "upper_order_statistics"]


def upper_order_statistics(x, m: int, name: str = "x") -> np.ndarray:
    """The m largest of |x| (row norms for 2-D x), in decreasing order, after input checks.

    Raises
    ------
    ValueError
        Naming ``name``: non-finite entries, a sample of fewer than m entries (too few for the
        estimator), or a zero among the m largest magnitudes.

    Examples
    --------
    >>> upper_order_statistics([3.0, -5.0, 1.0, 2.0], 2)
    array([5., 3.])
    """
    a = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float64)
    if a.ndim == 2:
        a = np.linalg.norm(a, axis=1)
    elif a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (samples) or 2-D (samples × coordinates)")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} has non-finite entries (a diverged chain?)")
    a = np.abs(a)
    if a.size < m:
        raise ValueError(f"{name} has {a.size} samples; the estimator needs at least {m}")
    top = -np.sort(-np.partition(a, a.size - m)[a.size - m :])
    if not top[-1] > 0:
        raise ValueError(f"{name}: a zero among its {m} largest magnitudes; no tail to fit")
    return top


def _check_k(k, lo: int = 2) -> int:
    if isinstance(k, bool) or not isinstance(k, Integral) or k < lo:
        raise ValueError(f"k must be an integer >= {lo}; got {k!r}")
    return int(k)


def hill(x, k: int) -> tuple[float, float]:
    """Hill's estimate α̂ = [(1/k) Σ_{i≤k} log(|X|_{(i)}/|X|_{(k+1)})]^{−1} and its SE α̂/√k.

    The SE is the asymptotic one (exact Pareto data: kα/α̂ ~ Gamma(k, 1), so α̂ is unbiased up
    to a factor k/(k − 1) and its SD is α/√k to leading order).

    Parameters
    ----------
    x : array or tensor, shape (K,) or (K, d) (row norms); i.i.d. samples
    k : int ≥ 2, number of upper order statistics (k < K)

    Examples
    --------
    >>> import numpy as np
    >>> hill(np.arange(1.0, 11.0), 20)
    Traceback (most recent call last):
    ...
    ValueError: x has 10 samples; the estimator needs at least 21
    """
    k = _check_k(k)
    top = upper_order_statistics(x, k + 1)
    m = float(np.mean(np.log(top[:k] / top[k])))
    if not m > 0:
        raise ValueError(f"the k+1={k + 1} largest magnitudes of x are all equal; no tail to fit")
    a = 1.0 / m
    return a, a / math.sqrt(k)


def pickands(x, k: int) -> tuple[float, float]:
    """Pickands' estimate of the extreme-value index ξ (= 1/α for a power tail), with its SE.

    ξ̂ = log[(X_{(k)} − X_{(2k)})/(X_{(2k)} − X_{(4k)})]/log 2 from the order statistics of |X|,
    asymptotically normal with variance ξ²(2^{2ξ+1} + 1)/[2(2^ξ − 1) log 2]² / k (Dekkers & de
    Haan 1989; 3/(4 log⁴2)/k at ξ = 0). Unlike Hill it is defined for every domain of attraction:
    ξ > 0 for a power tail of index α = 1/ξ, ξ = 0 for exponential-type (light) tails such as the
    Gaussian or χ², ξ < 0 for a bounded law. Its variance is several times Hill's.

    Parameters
    ----------
    x : array or tensor, shape (K,) or (K, d); i.i.d. samples
    k : int ≥ 1, with 4k ≤ K

    Returns
    -------
    (ξ̂, SE(ξ̂)); for α use 1/ξ̂ and SE(α̂) ≈ SE(ξ̂)/ξ̂² when ξ̂ is well above 0.

    Examples
    --------
    >>> import numpy as np
    >>> u = np.random.default_rng(1).random(400_000)
    >>> xi, se = pickands(u ** (-1 / 2.0), 5000)             # Pareto, α = 2: ξ = 1/2
    >>> abs(xi - 0.5) < 5 * se
    True
    >>> xi, se = pickands(np.random.default_rng(2).exponential(size=400_000), 5000)
    >>> abs(xi) < 5 * se                                     # exponential: ξ = 0
    True
    >>> xi, se = pickands(np.random.default_rng(2).standard_normal(400_000), 5000)
    >>> xi < -5 * se          # Gaussian: ξ = 0 too, but reached only at the rate 1/log K
    True
    """
    k = _check_k(k, 1)
    top = upper_order_statistics(x, 4 * k)
    x1, x2, x4 = top[k - 1], top[2 * k - 1], top[4 * k - 1]
    if not (x1 > x2 > x4):
        raise ValueError(f"x: tied order statistics at k={k}, 2k, 4k; no tail to fit")
    xi = math.log((x1 - x2) / (x2 - x4)) / math.log(2)
    if abs(xi) < 1e-6:
        v = 3 / (4 * math.log(2) ** 4)
    else:
        v = xi**2 * (2 ** (2 * xi + 1) + 1) / (2 * (2**xi - 1) * math.log(2)) ** 2
    return xi, math.sqrt(v / k)
