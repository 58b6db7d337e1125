"""The book's one figure style.

Examples
--------
>>> from sgdsde.book.plotting import use_book_style, PALETTE
>>> use_book_style()
>>> len(PALETTE)
8
"""

from __future__ import annotations

from importlib import resources

#: Okabe–Ito colour-blind-safe palette, in the order of the style's colour cycle.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


def use_book_style() -> None:
    """Apply the book's matplotlib style (sizes, fonts, palette) globally.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> use_book_style()
    >>> plt.rcParams["axes.prop_cycle"].by_key()["color"][0].lower()
    '#0072b2'
    """
    import matplotlib.pyplot as plt

    with resources.as_file(resources.files("sgdsde.book").joinpath("book.mplstyle")) as path:
        plt.style.use(str(path))


def covariance_ellipse(S, k: float = 2.0, points: int = 200):
    """The k-standard-deviation ellipse {x : xᵀS⁻¹x = k²} of a 2×2 covariance S, as a polyline.

    Parameters
    ----------
    S : Tensor ``(2, 2)``, symmetric positive definite
    k : float > 0, the number of standard deviations
    points : int ≥ 3, vertices of the polyline

    Returns
    -------
    Tensor ``(points, 2)``, closed (first vertex = last).

    Examples
    --------
    >>> import torch
    >>> e = covariance_ellipse(torch.diag(torch.tensor([4.0, 1.0], dtype=torch.float64)), k=1)
    >>> e.shape, [round(float(v), 3) for v in e.abs().amax(0)]    # semi-axes 2 and 1
    (torch.Size([200, 2]), [2.0, 1.0])
    """
    import torch

    S = torch.as_tensor(S)
    if S.shape != (2, 2):
        raise ValueError(f"S must be a 2×2 covariance, got shape {tuple(S.shape)}")
    if not k > 0 or points < 3:
        raise ValueError(f"k must be > 0 and points >= 3; got k={k!r}, points={points!r}")
    t = torch.linspace(0, 2 * torch.pi, points, dtype=S.dtype, device=S.device)
    circle = torch.stack([t.cos(), t.sin()], -1)
    return k * circle @ torch.linalg.cholesky(S).T


def quadratic_form(P, points):
    """xᵀPx at every point of a grid: ``points`` ``(..., d)`` → ``(...)`` (for contour plots).

    Examples
    --------
    >>> import torch
    >>> quadratic_form(torch.eye(2), torch.tensor([[[3.0, 4.0]]]))
    tensor([[25.]])
    """
    import torch

    return torch.einsum("...i,ij,...j->...", points, P.to(points), points)
