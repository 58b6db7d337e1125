"""Symmetric α-stable sampling and tail-index estimation.

Convention used throughout the package: a *standard symmetric α-stable* variable
:math:`S_\\alpha` has characteristic function :math:`\\mathbb E e^{iuS_\\alpha} = e^{-|u|^\\alpha}`,
:math:`\\alpha \\in (0, 2]`. With a scale :math:`\\sigma`, :math:`\\sigma S_\\alpha` has
:math:`e^{-|\\sigma u|^\\alpha}`. Special cases: :math:`\\alpha = 1` is the standard Cauchy law and
:math:`\\alpha = 2` is :math:`\\mathcal N(0, 2)` (variance 2, not 1). This is scipy's
``levy_stable(alpha, beta=0)`` with its default ``S1`` parametrisation.

Sampling is Chambers, Mallows & Stuck (1976); the tail-index estimators are the
block-sum estimator of Mohammadi, Mohammadpour & Ogata (2015) used by Şimşekli et al. (2019), and
Hill's (1975) estimator.

Examples
--------
>>> import torch
>>> from sgdsde.levy import symmetric_stable, tail_index_mohammadi
>>> g = torch.Generator().manual_seed(0)
>>> x = symmetric_stable(1.5, (40_000,), generator=g)
>>> abs(float(tail_index_mohammadi(x)) - 1.5) < 0.1
True
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch

__all__ = ["symmetric_stable", "tail_index_mohammadi", "tail_index_hill", "check_alpha"]


def check_alpha(alpha, name: str = "alpha") -> float:
    """Validate a stability index and return it as a float.

    Parameters
    ----------
    alpha : float or 0-d tensor
        Stability (tail) index; must lie in (0, 2].
    name : str
        Argument name used in the error message.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``alpha`` is not a real number.
    ValueError
        If ``alpha`` is not in (0, 2].

    Examples
    --------
    >>> check_alpha(1.5)
    1.5
    >>> check_alpha(2.5)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be in (0, 2], got 2.5
    """
    if isinstance(alpha, torch.Tensor):
        if alpha.numel() != 1:
            raise TypeError(
                f"{name} must be a real scalar, got a tensor of shape {tuple(alpha.shape)}"
            )
        alpha = alpha.item()
    if isinstance(alpha, bool) or not isinstance(alpha, Real):
        raise TypeError(f"{name} must be a real number in (0, 2], got {type(alpha).__name__}")
    alpha = float(alpha)
    if not (0.0 < alpha <= 2.0):
        raise ValueError(f"{name} must be in (0, 2], got {alpha}")
    return alpha


def _size_tuple(size) -> tuple[int, ...]:
    if isinstance(size, Integral) and not isinstance(size, bool):
        size = (size,)
    try:
        items = tuple(size)
    except TypeError as exc:
        raise TypeError(f"size must be an int or a tuple of ints, got {size!r}") from exc
    if not all(isinstance(s, Integral) and not isinstance(s, bool) for s in items):
        raise TypeError(f"size must be an int or a tuple of ints, got {size!r}")
    size = tuple(int(s) for s in items)
    if any(s < 0 for s in size):
        raise ValueError(f"size must have non-negative entries, got {size}")
    return size


def symmetric_stable(
    alpha,
    size,
    *,
    scale=1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device=None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Draw symmetric α-stable variables by Chambers–Mallows–Stuck.

    With :math:`V \\sim \\mathcal U(-\\pi/2, \\pi/2)` and :math:`W \\sim \\mathrm{Exp}(1)`
    independent,

    .. math::
        S_\\alpha = \\frac{\\sin(\\alpha V)}{(\\cos V)^{1/\\alpha}}
        \\left(\\frac{\\cos((1-\\alpha)V)}{W}\\right)^{(1-\\alpha)/\\alpha}
        \\quad(\\alpha \\ne 1), \\qquad S_1 = \\tan V,

    has characteristic function :math:`e^{-|u|^\\alpha}`; the returned value is ``scale * S``, with
    characteristic function :math:`e^{-|\\mathrm{scale}\\, u|^\\alpha}`.

    Parameters
    ----------
    alpha : float
        Stability index in (0, 2]. ``alpha=2`` gives :math:`\\mathcal N(0, 2\\,\\mathrm{scale}^2)`,
        ``alpha=1`` the Cauchy law.
    size : int or tuple of int
        Output shape.
    scale : float or tensor broadcastable to ``size``
        Scale parameter σ > 0 (same units as the output).
    generator : torch.Generator, optional
        Random source (its device must match ``device``).
    dtype : torch.dtype
        Floating dtype of the output (default float64).
    device : torch.device or str, optional
        Output device; defaults to the generator's device, else CPU.
    out : torch.Tensor, optional
        Preallocated output of shape ``size`` (dtype/device taken from it).

    Returns
    -------
    torch.Tensor
        Shape ``size``.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = symmetric_stable(2.0, (100_000,), generator=g)
    >>> round(float(x.var()), 1)          # alpha = 2 is N(0, 2)
    2.0
    >>> symmetric_stable(1.0, (2, 3), generator=g).shape
    torch.Size([2, 3])
    """
    alpha = check_alpha(alpha)
    size = _size_tuple(size)
    if isinstance(scale, torch.Tensor):
        if not bool((scale > 0).all()):
            raise ValueError("scale must be > 0")
    else:
        scale = float(scale)
        if not scale > 0 or not math.isfinite(scale):
            raise ValueError(f"scale must be a finite number > 0, got {scale}")
    if out is not None:
        dtype, device = out.dtype, out.device
        if tuple(out.shape) != size:
            raise ValueError(f"out has shape {tuple(out.shape)}, expected {size}")
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    if device is None:
        device = generator.device if generator is not None else torch.device("cpu")
    device = torch.device(device)
    # V uniform on (-pi/2, pi/2): written in place into the output buffer.
    v = out if out is not None else torch.empty(size, dtype=dtype, device=device)
    v.uniform_(-math.pi / 2, math.pi / 2, generator=generator)
    tiny = torch.finfo(dtype).tiny
    if alpha == 1.0:
        res = torch.tan(v, out=v)
    else:
        w = torch.empty(size, dtype=dtype, device=device).exponential_(generator=generator)
        w.clamp_(min=tiny)
        cos_v = torch.cos(v).clamp_(min=tiny)  # cos V > 0 on (-pi/2, pi/2); guard rounding
        # t = cos((1 - alpha) V) / W  (> 0 since |(1 - alpha) V| < pi/2 for alpha in (0, 2])
        t = torch.cos(v * (1.0 - alpha)).clamp_(min=tiny).div_(w)
        # S = sin(alpha V) * exp(((1 - alpha)/alpha) log t - (1/alpha) log cos V): one exp, two logs
        t.log_().mul_((1.0 - alpha) / alpha)
        t.sub_(cos_v.log_(), alpha=1.0 / alpha)
        t.exp_()
        res = torch.sin(v.mul_(alpha), out=v).mul_(t)
    if isinstance(scale, torch.Tensor) or scale != 1.0:
        res.mul_(scale)
    return res


def _as_tensor(x, name: str) -> torch.Tensor:
    """x as a floating tensor of shape (K,) or (K, d), checked finite."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a tensor or array, got {type(x).__name__}")
    if x.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (K,) or (K, d), got {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        x = x.to(torch.get_default_dtype())
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise ValueError(
            f"{name} contains non-finite values ({bad} of {x.numel()} entries are nan or inf)"
        )
    return x


def _magnitudes(x: torch.Tensor) -> torch.Tensor:
    """|x| for 1-D input, the row norms ‖x_i‖ for 2-D input."""
    return x.abs() if x.ndim == 1 else torch.linalg.vector_norm(x, dim=1)


def _check_not_constant(x: torch.Tensor, name: str) -> None:
    if not bool((x != 0).any()):
        raise ValueError(f"{name} is all zeros ({x.shape[0]} samples); its tail index is undefined")
    if x.shape[0] >= 2 and bool((x == x[0]).all()):
        what = "every entry" if x.ndim == 1 else "every row"
        raise ValueError(
            f"{name} is constant ({what} equals the first); its tail index is undefined"
        )


def _drop_or_reject_zeros(x: torch.Tensor, mag: torch.Tensor, drop_zeros: bool, name: str):
    """Remove the samples of magnitude 0 (``drop_zeros``) or reject them; return (x, mag)."""
    zero = mag == 0
    nz = int(zero.sum())
    if nz == 0:
        return x, mag
    K = int(mag.shape[0])
    if nz == K:
        raise ValueError(f"{name} is all zeros ({K} samples); its tail index is undefined")
    if not drop_zeros:
        unit = "entries" if x.ndim == 1 else "rows"
        raise ValueError(
            f"{name} has {nz} exact zero {unit} of {K} ({nz / K:.2%}); a stable law has no atom at 0 and "
            f"each zero enters the estimator as log(tiny) ≈ {math.log(torch.finfo(mag.dtype).tiny):.0f}, "
            f"dragging the estimate down. Pass drop_zeros=True to estimate the tail index of the "
            f"non-zero samples (e.g. for coordinates that carry no noise), or remove them yourself"
        )
    keep = ~zero
    return x[keep], mag[keep]


def _as_samples(x, name: str = "x") -> torch.Tensor:
    """Magnitudes (|x| or row norms) of finite, non-constant input with ≥ 2 samples, 1-D."""
    x = _as_tensor(x, name)
    if x.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 samples; got {x.shape[0]}")
    _check_not_constant(x, name)
    return _magnitudes(x)


def tail_index_mohammadi(
    x, k1: int | None = None, *, drop_zeros: bool = False, return_se: bool = False
):
    """Block-sum tail-index estimator of Mohammadi, Mohammadpour & Ogata (2015).

    For :math:`K = k_1 k_2` samples :math:`X_1, \\dots, X_K` and block sums
    :math:`Y_i = \\sum_{j=1}^{k_1} X_{(i-1)k_1 + j}`, :math:`i = 1, \\dots, k_2`,

    .. math::
        \\frac{1}{\\hat\\alpha} = \\frac{1}{\\log k_1}\\Big(\\frac{1}{k_2}\\sum_{i=1}^{k_2}\\log|Y_i|
        - \\frac{1}{K}\\sum_{i=1}^{K}\\log|X_i|\\Big),

    which is consistent because a sum of :math:`k_1` i.i.d. strictly stable variables equals
    :math:`k_1^{1/\\alpha} X_1` in law (their Corollary 2.4). This is the estimator Şimşekli,
    Sagun & Gürbüzbalaban (2019) apply to SGD noise; as in their code, vector samples (rows of a
    ``(K, d)`` input) are summed as vectors and their Euclidean norms enter the logs.

    **Degenerate input is rejected**, with a ``ValueError`` naming ``x``: non-finite values, fewer
    than 4 samples (2 blocks of 2), constant data (every sample equal; the estimate would be
    exactly 1 whatever the data) and all-zero data.

    **Exact zeros.** A stable law has no atom at 0, and every exact zero enters the second mean
    as log(tiny) ≈ −708 (float64): 1 % of exact zeros in Gaussian data moves α̂ from 2 to about
    0.6. Exact zeros therefore raise an error by default. They usually mean that some samples
    carry no noise at all (e.g. pooled coordinates of a gradient-noise vector whose parameters
    receive no gradient); with ``drop_zeros=True`` the samples (entries, or rows of norm 0) that
    are exactly zero are removed before the blocks are formed (in their original order), and the
    estimate is the tail index of the non-zero part: for a mixture p·δ₀ + (1 − p)·law, that of
    the law. Only *exact* zeros are removed; values that are zero up to rounding (e.g. 1e-9 in
    float32 from a coordinate that should be 0) must be masked by the caller, who knows the scale.

    Parameters
    ----------
    x : tensor or ndarray, shape (K,) or (K, d)
        i.i.d. samples (assumed centred/symmetric, α ∈ (0, 2]), finite and not all equal.
    k1 : int, optional
        Block length, ≥ 2. Default ``floor(sqrt(K))`` (K counted after dropping zeros). Only the
        first ``k1 * (K // k1)`` samples are used; ``K // k1`` must be ≥ 2.
    drop_zeros : bool
        Remove exactly-zero samples first (default False: raise if any is present).
    return_se : bool
        Also return the standard error of α̂. With :math:`D_i = \\log|Y_i| -
        \\frac1{k_1}\\sum_j \\log|X_{(i-1)k_1+j}|` (i.i.d. over the blocks),
        :math:`1/\\hat\\alpha = \\bar D/\\log k_1`, so SE(1/α̂) = sd(D)/(√k₂ log k₁) exactly, and
        SE(α̂) = α̂²·SE(1/α̂) (delta method).

    Returns
    -------
    torch.Tensor, or (torch.Tensor, torch.Tensor) if ``return_se``
        0-d tensor, the estimate α̂ (not clipped to (0, 2]); and its standard error.

    Raises
    ------
    ValueError
        On degenerate input (see above) or a bad ``k1``.

    Examples
    --------
    >>> import torch
    >>> from sgdsde.levy import symmetric_stable
    >>> x = symmetric_stable(1.2, (40_000,), generator=torch.Generator().manual_seed(1))
    >>> a, se = tail_index_mohammadi(x, k1=200, return_se=True)
    >>> abs(float(a) - 1.2) < 5 * float(se) < 0.2
    True
    >>> x[::100] = 0.0                                    # 1 % exact zeros
    >>> abs(float(tail_index_mohammadi(x, k1=200, drop_zeros=True)) - 1.2) < 0.1
    True
    >>> tail_index_mohammadi(torch.ones(100))
    Traceback (most recent call last):
    ...
    ValueError: x is constant (every entry equals the first); its tail index is undefined
    """
    x = _as_tensor(x, "x")
    if x.shape[0] < 4:
        raise ValueError(f"x needs at least 4 samples (2 blocks of 2); got {x.shape[0]}")
    _check_not_constant(x, "x")
    x, ax = _drop_or_reject_zeros(x, _magnitudes(x), drop_zeros, "x")
    K = x.shape[0]
    if K < 4:
        raise ValueError(f"x needs at least 4 non-zero samples (2 blocks of 2); got {K}")
    if k1 is None:
        k1 = int(math.isqrt(K))
    if isinstance(k1, bool) or not isinstance(k1, (int, np.integer)):
        raise TypeError(f"k1 must be an int >= 2, got {type(k1).__name__}")
    k1 = int(k1)
    if k1 < 2:
        raise ValueError(f"k1 must be >= 2, got {k1}")
    k2 = K // k1
    if k2 < 2:
        raise ValueError(f"need at least 2 blocks of length k1={k1}; got K={K} samples of x")
    xs, ax = x[: k1 * k2], ax[: k1 * k2]
    y = xs.reshape(k2, k1, *xs.shape[1:]).sum(dim=1)
    ay = _magnitudes(y)
    if not bool((ay > 0).all()):
        raise ValueError(
            f"x: {int((ay == 0).sum())} block sums of length k1={k1} are exactly 0 "
            "(cancelling or discrete data); the estimator needs a continuous law"
        )
    d = torch.log(ay) - torch.log(ax).reshape(k2, k1).mean(1)  # D_i, i.i.d. over blocks
    inv_alpha = d.mean() / math.log(k1)
    alpha = 1.0 / inv_alpha
    if not return_se:
        return alpha
    se = alpha**2 * d.std(correction=1) / (math.sqrt(k2) * math.log(k1))
    return alpha, se


def tail_index_hill(x, k: int | None = None) -> torch.Tensor:
    """Hill's (1975) estimator of the tail index from the k largest magnitudes.

    With :math:`|X|_{(1)} \\ge |X|_{(2)} \\ge \\dots` the order statistics of the magnitudes,

    .. math::
        \\hat\\alpha = \\Big(\\frac1k \\sum_{i=1}^{k} \\log\\frac{|X|_{(i)}}{|X|_{(k+1)}}\\Big)^{-1}.

    It estimates α of a tail :math:`P(|X| > x) \\sim C x^{-\\alpha}`; for α-stable laws near α = 2
    it is biased upwards unless k/K is small (the power-law tail starts far out), so prefer
    :func:`tail_index_mohammadi` there.

    Degenerate input is rejected with a ``ValueError`` naming ``x``: non-finite values, fewer than
    2 samples, constant or all-zero data, and data whose k + 1 largest magnitudes are all equal
    (no tail to fit; the estimate would be infinite). Exact zeros below the (k+1)-th largest
    magnitude do not enter the estimate (an atom at 0 does not change the tail index), so they
    are accepted; they do count in K, and hence in the default k.

    Parameters
    ----------
    x : tensor or ndarray, shape (K,) or (K, d)
        Samples; for 2-D input the row norms are used.
    k : int, optional
        Number of upper order statistics, 1 ≤ k < K. Default ``max(10, floor(sqrt(K)))``
        (capped at K − 1).

    Returns
    -------
    torch.Tensor
        0-d tensor, α̂.

    Raises
    ------
    ValueError
        On degenerate input (see above) or a bad ``k``.

    Examples
    --------
    >>> import torch
    >>> u = torch.rand(100_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> pareto = (1 - u) ** (-1 / 1.5)               # P(X > x) = x^(-1.5), x >= 1
    >>> abs(float(tail_index_hill(pareto, k=5000)) - 1.5) < 0.1
    True
    >>> tail_index_hill(torch.zeros(100))
    Traceback (most recent call last):
    ...
    ValueError: x is all zeros (100 samples); its tail index is undefined
    """
    a = _as_samples(x, "x")
    K = a.shape[0]
    if k is None:
        k = min(max(10, int(math.isqrt(K))), K - 1)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    k = int(k)
    if not (1 <= k < K):
        raise ValueError(f"k must satisfy 1 <= k < K={K}, got {k}")
    top = torch.topk(a, k + 1, sorted=True).values
    if not bool(top[k] > 0):
        raise ValueError(
            f"the (k+1)-th largest magnitude of x is 0 (k={k}, {int((a > 0).sum())} non-zero "
            "samples); choose a smaller k"
        )
    if not bool(top[0] > top[k]):
        raise ValueError(
            f"the k+1={k + 1} largest magnitudes of x are all equal; x has no tail to fit "
            "(the estimate would be infinite)"
        )
    return 1.0 / torch.log(top[:k] / top[k]).mean()
