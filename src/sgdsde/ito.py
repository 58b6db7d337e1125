"""Symbolic Itô calculus with sympy: the generator of an SDE, its Itô–Taylor expansion, and the
drift of Itô's formula derived independently from the rules :math:`dW_i\\,dW_j = \\delta_{ij}\\,dt`.

For :math:`dX = b(X)\\,dt + \\sigma(X)\\,dW` in :math:`\\mathbb R^d` with :math:`a = \\sigma\\sigma^\\top`, the
generator is :math:`\\mathcal L\\varphi = \\sum_k b_k\\partial_k\\varphi + \\frac12\\sum_{k,l}
a_{kl}\\partial_k\\partial_l\\varphi`. The weak-approximation chapter uses these to compute the
one-step moments of the SDE (23) and of the modified equation with general drift and diffusion
functions.

Examples
--------
>>> import sympy as sp
>>> from sgdsde import ito
>>> x, h = sp.symbols("x h")
>>> L = ito.generator([x], [-x], [[1]])                  # Ornstein–Uhlenbeck, dX = −X dt + dW
>>> sp.expand(L(x**2))
1 - 2*x**2
>>> sp.expand(ito.ito_taylor(x**2, L, h, 2))             # E X_h² = x² + h(1 − 2x²) + h²(2x² − 1) + …
2*h**2*x**2 - h**2 - 2*h*x**2 + h + x**2
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

__all__ = ["generator", "ito_taylor", "ito_drift", "truncate"]


def _square(name: str, m, d: int) -> list[list]:
    rows = [list(r) for r in m]
    if len(rows) != d or any(len(r) != d for r in rows):
        raise ValueError(f"{name} must be a {d} x {d} nested sequence (d = len(xs))")
    return rows


def generator(xs: Sequence[sp.Symbol], drift: Sequence, diffusion) -> Callable[[sp.Expr], sp.Expr]:
    """The generator :math:`\\varphi \\mapsto b\\cdot\\nabla\\varphi + \\frac12\\operatorname{tr}(a\\nabla^2\\varphi)`.

    Parameters
    ----------
    xs : sequence of d sympy symbols
        The coordinates.
    drift : sequence of d sympy expressions
        :math:`b(x)`.
    diffusion : d x d nested sequence of sympy expressions
        :math:`a(x) = \\sigma\\sigma^\\top` (symmetric).

    Returns
    -------
    callable
        ``L(phi)`` for a sympy expression ``phi`` in ``xs``.

    Examples
    --------
    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> L = generator([x, y], [0, 0], [[1, 0], [0, 1]])      # half the Laplacian
    >>> L(x**2 + y**2)
    2
    >>> generator([x], [0, 0], [[1]])
    Traceback (most recent call last):
    ...
    ValueError: drift must have d = 1 entries, got 2
    """
    xs = list(xs)
    d = len(xs)
    b = list(drift)
    if len(b) != d:
        raise ValueError(f"drift must have d = {d} entries, got {len(b)}")
    a = _square("diffusion", diffusion, d)

    def L(phi):
        first = sum(b[k] * sp.diff(phi, xs[k]) for k in range(d))
        second = sum(a[k][m] * sp.diff(phi, xs[k], xs[m]) for k in range(d) for m in range(d))
        return first + sp.Rational(1, 2) * second

    return L


def ito_taylor(phi: sp.Expr, L: Callable, h: sp.Symbol, order: int) -> sp.Expr:
    """:math:`\\sum_{j=0}^{\\text{order}} \\frac{h^j}{j!}\\mathcal L^j\\varphi`, the Itô–Taylor polynomial of
    :math:`\\mathbb E\\,\\varphi(X_h)` (the remainder is :math:`O(h^{\\text{order}+1})` under the
    conditions stated in the chapter).

    Examples
    --------
    >>> import sympy as sp
    >>> x, h = sp.symbols("x h")
    >>> ito_taylor(x, generator([x], [1], [[0]]), h, 3)        # dX = dt: E X_h = x + h
    h + x
    >>> ito_taylor(x, generator([x], [1], [[0]]), h, -1)
    Traceback (most recent call last):
    ...
    ValueError: order must be an integer >= 0, got -1
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"order must be an integer >= 0, got {order!r}")
    term, total = phi, phi
    for j in range(1, order + 1):
        term = L(term)
        total = total + h**j / sp.factorial(j) * term
    return total


def ito_drift(u: sp.Expr, t: sp.Symbol, xs: Sequence[sp.Symbol], drift: Sequence, sigma) -> sp.Expr:
    """The :math:`dt` coefficient of :math:`du(X_t, t)` for :math:`dX = b\\,dt + \\sigma\\,dW`, derived
    from the second-order Taylor expansion of :math:`u(x + dX, t + dt)` with the rules
    :math:`dW_i\\,dW_j = \\delta_{ij}\\,dt` and :math:`dt\\,dW_i = dt^2 = 0` (not from the generator).

    Parameters
    ----------
    sigma : d x m nested sequence of sympy expressions
        The diffusion factor :math:`\\sigma` (``m`` Brownian motions).

    Examples
    --------
    >>> import sympy as sp
    >>> x, t = sp.symbols("x t")
    >>> ito_drift(x**2, t, [x], [0], [[1]])                   # d(W²) = 2W dW + dt
    1
    """
    xs, b = list(xs), list(drift)
    d = len(xs)
    if len(b) != d:
        raise ValueError(f"drift must have d = {d} entries, got {len(b)}")
    rows = [list(r) for r in sigma]
    if len(rows) != d or len({len(r) for r in rows}) != 1:
        raise ValueError(f"sigma must be a d x m nested sequence with d = {d}")
    m = len(rows[0])
    dt = sp.Symbol("dt_ito")
    dW = sp.symbols(f"dW_ito1:{m + 1}")
    dX = [b[k] * dt + sum(rows[k][j] * dW[j] for j in range(m)) for k in range(d)]
    incr = [*dX, dt]
    var = [*xs, t]
    du = sum(sp.diff(u, var[i]) * incr[i] for i in range(d + 1))
    du += sp.Rational(1, 2) * sum(
        sp.diff(u, var[i], var[j]) * incr[i] * incr[j] for i in range(d + 1) for j in range(d + 1)
    )
    du = sp.expand(du)
    out = 0
    for term in sp.Add.make_args(du):
        powers = term.as_powers_dict()
        n_dt = powers.get(dt, 0)
        squared = [w for w in dW if powers.get(w, 0) == 2]
        n_dw = sum(powers.get(w, 0) for w in dW)
        if n_dt == 1 and n_dw == 0:  # the dt terms
            out += term / dt
        elif n_dt == 0 and n_dw == 2 and squared:  # dW_i² = dt (dW_i dW_j = 0 for i ≠ j)
            out += term / squared[0] ** 2
    return sp.expand(out)


def truncate(expr: sp.Expr, h: sp.Symbol, order: int) -> sp.Expr:
    """The terms of ``expr`` (a polynomial in ``h`` after expansion) of degree < ``order`` in ``h``.

    Examples
    --------
    >>> import sympy as sp
    >>> h, x = sp.symbols("h x")
    >>> truncate((1 + h * x) ** 3, h, 2)
    3*h*x + 1
    """
    e = sp.expand(expr)
    return sp.expand(sum(e.coeff(h, j) * h**j for j in range(order)))
