"""The learning coefficient of deep linear networks in closed form (Aoyagi 2024)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from .._validate import as_int

__all__ = ["dln_learning_coefficient"]


def dln_learning_coefficient(widths: Sequence[int], rank: int) -> Fraction:
    """Real log canonical threshold λ of a deep linear network at a true parameter of rank r.

    The network f(x) = W_L ⋯ W_1 x has widths H = (H_1 = d_in, H_2, …, H_{L+1} = d_out); the true
    end-to-end map has rank r ≤ min H. Aoyagi (2024, Theorem 1): with M_s = H_s − r, let S be
    the set of the ℓ + 1 smallest M_s (ℓ ≥ 1) such that

        max_{s∈S} M_s < min_{k∉S} M_k,   Σ_S M_s ≥ ℓ · max_S M_s,   Σ_S M_s < ℓ · min_{k∉S} M_k

    (conditions on the complement dropped when S is everything). With M̄ = ⌈Σ_S M_s / ℓ⌉ and
    a = Σ_S M_s − (M̄ − 1) ℓ,

        λ = (r(d_in + d_out) − r²)/2 + a(ℓ − a)/(4ℓ) − ℓ(ℓ − 1)/4 · (Σ_S M_s / ℓ)²
            + ½ Σ_{i<j∈S} M_i M_j.

    The first term is half the dimension r(d_in + d_out − r) of the rank-r matrices. Computed in
    exact rational arithmetic.

    Parameters
    ----------
    widths : sequence of ≥ 2 ints ≥ 1
        (d_in, H_2, …, d_out).
    rank : int in [0, min(widths)]

    Returns
    -------
    Fraction

    Examples
    --------
    >>> dln_learning_coefficient((3, 4), 2)          # one layer: regular, λ = d/2 = 12/2
    Fraction(6, 1)
    >>> dln_learning_coefficient((1, 1, 1), 0)       # y = w₂w₁x at w₂w₁ = 0: λ = 1/2
    Fraction(1, 2)
    >>> dln_learning_coefficient((3, 3, 3), 5)
    Traceback (most recent call last):
    ...
    ValueError: rank must be in [0, 3]; got 5
    """
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__"):
        raise TypeError(f"widths must be a sequence of ints; got {type(widths).__name__}")
    H = [as_int(f"widths[{i}]", w, min=1) for i, w in enumerate(widths)]
    if len(H) < 2:
        raise ValueError(f"widths must hold >= 2 ints (d_in, ..., d_out); got {tuple(widths)}")
    r = as_int("rank", rank, min=0, max=min(H))
    M = sorted(h - r for h in H)
    for ell in range(1, len(M)):
        S, rest = M[: ell + 1], M[ell + 1 :]
        tot = sum(S)
        if rest and not (max(S) < min(rest) and tot < ell * min(rest)):
            continue
        if tot >= ell * max(S):
            break
    else:  # pragma: no cover - Aoyagi's theorem: some S always qualifies (ℓ = L at the latest)
        raise RuntimeError(f"no admissible subset for M = {M}")
    Mbar = -(-tot // ell)  # ceiling
    a = tot - (Mbar - 1) * ell
    pairs = sum(S[i] * S[j] for i in range(len(S)) for j in range(i + 1, len(S)))
    return (
        Fraction(r * (H[0] + H[-1]) - r * r, 2)
        + Fraction(a * (ell - a), 4 * ell)
        - Fraction(ell * (ell - 1), 4) * Fraction(tot, ell) ** 2
        + Fraction(pairs, 2)
    )
