"""Stationary Fokker–Planck solutions: exact 1-D quadrature and a 2-D finite-volume solver.

Convention (Itô): for :math:`dx = b(x)\\,dt + \\sigma(x)\\,dW_t` with diffusion matrix
:math:`a = \\sigma\\sigma^\\top`, the density obeys

.. math::
    \\partial_t p = -\\partial_i (b_i p) + \\tfrac12 \\partial_i\\partial_j (a_{ij} p)
    = -\\partial_i J_i, \\qquad J_i = b_i p - \\tfrac12 \\partial_j (a_{ij} p).

Note the derivative acts on :math:`a p`, not on :math:`p` alone: with state-dependent diffusion the
current carries the extra term :math:`-\\tfrac12 (\\partial_j a_{ij}) p`. In 1-D the zero-current
stationary density is therefore

.. math::
    p(x) \\propto \\frac{1}{a(x)} \\exp\\Big(\\int^x \\frac{2\\,b(y)}{a(y)}\\,dy\\Big),

with the Itô prefactor :math:`1/a`; dropping it, or replacing it by :math:`a^{-1/2}`, gives a wrong
density for state-dependent noise (this is where notes (29) goes wrong). For SGD's SDE (notes (23))
:math:`b = -L_n'` and :math:`a = \\eta\\,\\Sigma/B`.

Examples
--------
>>> import torch
>>> from sgdsde.fokker_planck import stationary_density_1d
>>> grid = torch.linspace(-8, 8, 4001, dtype=torch.float64)
>>> p = stationary_density_1d(lambda x: -x, lambda x: 1 + x**2, grid)   # exact: (2/π)(1+x²)^-2
>>> exact = 2 / torch.pi / (1 + grid**2) ** 2
>>> float((p - exact).abs().max()) < 1e-3
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sps
import scipy.sparse.linalg as spla
import torch

from .potentials import Field, LinearDrift

__all__ = [
    "stationary_density_1d",
    "solve_stationary_2d",
    "Stationary2D",
    "MIN_POINTS",
    "MIN_CELLS_PER_SD",
]

#: Minimum number of grid points per axis accepted by :func:`solve_stationary_2d`.
MIN_POINTS = 16


def _grid(g, name: str) -> torch.Tensor:
    if isinstance(g, np.ndarray):
        g = torch.from_numpy(g)
    g = torch.as_tensor(g)
    if not g.is_floating_point():
        g = g.to(torch.float64)
    if g.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(g.shape)}")
    if not bool(torch.isfinite(g).all()):
        raise ValueError(f"{name} must be finite")
    return g


def _values(f, x: torch.Tensor, name: str) -> torch.Tensor:
    v = f(x) if callable(f) else f
    v = torch.as_tensor(v, dtype=x.dtype, device=x.device)
    try:
        v = torch.broadcast_to(v, x.shape)
    except RuntimeError as exc:
        raise ValueError(
            f"{name} must give values of shape {tuple(x.shape)} on the grid, got {tuple(v.shape)}"
        ) from exc
    if not bool(torch.isfinite(v).all()):
        raise ValueError(f"{name} is not finite on the grid")
    return v


def stationary_density_1d(drift, diffusion_sq, grid) -> torch.Tensor:
    """Zero-current stationary density of the 1-D Itô SDE dx = b(x) dt + σ(x) dW, by quadrature.

    .. math::
        p(x) = \\frac{1}{Z\\,a(x)} \\exp\\Big(\\int_{x_0}^{x} \\frac{2 b(y)}{a(y)}\\,dy\\Big),
        \\qquad a = \\sigma^2,

    which solves :math:`J = b p - \\tfrac12 (a p)' = 0`. The integral is a cumulative trapezoid
    on ``grid`` (error O(h²)), and Z makes the trapezoid integral of p over ``grid`` equal 1.
    For dx = −U'(x) dt + √(2D(x)) dW pass ``drift = -U'`` and ``diffusion_sq = 2D``.

    Parameters
    ----------
    drift : callable or tensor
        b(x): a callable mapping a tensor of grid points ``(N,)`` to ``(N,)``, or the values on the
        grid.
    diffusion_sq : callable or tensor
        a(x) = σ(x)² > 0 on the grid (callable on tensors or values), same convention.
    grid : tensor or array ``(N,)``
        Strictly increasing points, N ≥ 3 (need not be uniform). The domain must hold essentially
        all the mass (p is normalised on it).

    Returns
    -------
    torch.Tensor ``(N,)``
        The normalised density on the grid (grid's dtype; integer grids become float64).

    Raises
    ------
    ValueError
        Non-increasing or too short grid, a(x) ≤ 0, or non-finite coefficients.

    Examples
    --------
    >>> import torch
    >>> x = torch.linspace(-6, 6, 2001, dtype=torch.float64)
    >>> p = stationary_density_1d(lambda x: -2 * x, lambda x: 2 * torch.ones_like(x), x)  # OU
    >>> q = torch.exp(-x**2) / torch.pi ** 0.5                                      # N(0, 1/2)
    >>> float((p - q).abs().max()) < 1e-5
    True
    """
    x = _grid(grid, "grid")
    if x.numel() < 3:
        raise ValueError(f"grid needs at least 3 points, got {x.numel()}")
    dx = torch.diff(x)
    if not bool((dx > 0).all()):
        raise ValueError("grid must be strictly increasing")
    b = _values(drift, x, "drift")
    a = _values(diffusion_sq, x, "diffusion_sq")
    if not bool((a > 0).all()):
        raise ValueError("diffusion_sq must be > 0 on the grid (the formula divides by a(x))")
    f = 2.0 * b / a
    cum = torch.cat(
        [
            torch.zeros(1, dtype=x.dtype, device=x.device),
            torch.cumsum(0.5 * (f[1:] + f[:-1]) * dx, 0),
        ]
    )
    logp = cum - torch.log(a)
    p = torch.exp(logp - logp.max())
    return p / torch.trapezoid(p, x)


@dataclass
class Stationary2D:
    """Result of :func:`solve_stationary_2d`.

    Attributes
    ----------
    x : Tensor ``(nx,)``; y : Tensor ``(ny,)``
        Cell centres.
    p : Tensor ``(ny, nx)``
        Stationary density at the cell centres, ``p.sum() * hx * hy = 1`` (row j ↔ y[j]).
    j : Tensor ``(ny, nx, 2)``
        Probability current (J_x, J_y) at the cell centres (average of the two face fluxes).
    residual : float
        ``max|L p| / (max|L| · max|p|)`` of the discrete generator L (relative, ~1e-15 if solved).
    peclet : float
        Largest cell Péclet number ``|b_i| h_i / a_ii`` on the grid (≤ 1 required).
    generator : scipy.sparse.csr_matrix ``(ny·nx, ny·nx)``
        The finite-volume operator L with dp/dt = L p (zero column sums: mass is conserved).
    hx, hy : float
        Grid spacings.

    Examples
    --------
    >>> import torch
    >>> from sgdsde.fokker_planck import solve_stationary_2d
    >>> g = torch.linspace(-3, 3, 32, dtype=torch.float64)
    >>> res = solve_stationary_2d(lambda x, y: torch.stack([-x, -y], -1),
    ...                           lambda x, y: torch.eye(2, dtype=x.dtype).expand(*x.shape, 2, 2), g, g)
    >>> res.p.shape, res.j.shape, round(float(res.p.sum() * res.hx * res.hy), 6)
    (torch.Size([32, 32]), torch.Size([32, 32, 2]), 1.0)
    """

    x: torch.Tensor
    y: torch.Tensor
    p: torch.Tensor
    j: torch.Tensor
    residual: float
    peclet: float
    generator: sps.csr_matrix
    hx: float
    hy: float


def _uniform(g: torch.Tensor, name: str) -> float:
    if g.numel() < MIN_POINTS:
        raise ValueError(
            f"{name} too coarse: need at least {MIN_POINTS} points per axis, got {g.numel()}"
        )
    d = torch.diff(g.double())
    h = float(d.mean())
    if not h > 0 or float((d - h).abs().max()) > 1e-8 * abs(h) + 1e-12:
        raise ValueError(f"{name} must be uniform and strictly increasing")
    return h


def _central_1d(n: int, h: float) -> sps.csr_matrix:
    """Central first derivative on n nodes, one-sided at both ends, ``(n, n)``."""
    main = np.zeros(n)
    up = np.full(n - 1, 0.5 / h)
    lo = np.full(n - 1, -0.5 / h)
    up[0], main[0] = 1.0 / h, -1.0 / h
    lo[-1], main[-1] = -1.0 / h, 1.0 / h
    return sps.diags([lo, main, up], [-1, 0, 1], format="csr")


def _shifts(n: int):
    """E− (n−1, n) picks node f, E+ picks node f+1 for face f between nodes f and f+1."""
    Em = sps.eye(n - 1, n, k=0, format="csr")
    Ep = sps.eye(n - 1, n, k=1, format="csr")
    return Em, Ep


def _on_grid(drift, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    if isinstance(drift, torch.Tensor):
        return LinearDrift(drift.to(torch.float64)).on_grid(X, Y)
    if isinstance(drift, Field):
        return drift.on_grid(X, Y)
    return drift(X, Y)


#: Smallest standard deviation of the solved law along each axis, in cells (else too coarse).
MIN_CELLS_PER_SD = 2.0


def _check_resolved(p: np.ndarray, gx, gy, hx: float, hy: float) -> None:
    """Raise if the solved law is narrower than MIN_CELLS_PER_SD cells along an axis."""
    w = np.clip(p, 0, None)
    w = w / w.sum()
    for name, g, h, marg in (("grid_x", gx, hx, w.sum(0)), ("grid_y", gy, hy, w.sum(1))):
        c = g.cpu().numpy()
        sd = float(np.sqrt(max((marg * c**2).sum() - (marg * c).sum() ** 2, 0.0)))
        if sd < MIN_CELLS_PER_SD * h:
            raise ValueError(
                f"{name} too coarse for the law: its standard deviation {sd:.3g} along this axis "
                f"is {sd / h:.2g} cells, need at least {MIN_CELLS_PER_SD:g} (spacing {h:.3g})"
            )


def solve_stationary_2d(drift, diffusion, grid_x, grid_y) -> Stationary2D:
    """Stationary 2-D Fokker–Planck solution by finite volumes with zero-flux boundaries.

    Solves :math:`\\partial_i J_i = 0`, :math:`J_i = b_i p - \\tfrac12 \\partial_j (a_{ij} p)`,
    on the rectangle of cells centred at ``grid_x × grid_y`` with no flux through its edges.
    Face fluxes are second-order central: :math:`b_i p` and the mixed term
    :math:`\\partial_j(a_{ij}p)`, j ≠ i, are averaged from the two cells, the normal term is a
    two-point difference. Each face flux leaves one cell and enters its neighbour, so the operator
    L (dp/dt = Lp) conserves mass exactly; the stationary density is its null vector, found by a
    sparse LU solve with one equation replaced by the normalisation Σ p hx hy = 1.

    Parameters
    ----------
    drift : callable, Field or Tensor ``(2, 2)``
        A matrix M means the linear drift b(x) = Mx; a :class:`sgdsde.potentials.Field` is
        evaluated at the stacked points; a plain callable is called as ``drift(X, Y)``
        → ``(ny, nx, 2)`` with ``X, Y`` the ``(ny, nx)`` meshgrid of cell centres
        (float64 tensors, ``X[j, i] = grid_x[i]``, ``Y[j, i] = grid_y[j]``).
    diffusion : callable, Field or Tensor
        The matrix :math:`a = \\sigma\\sigma^\\top`, shape ``(ny, nx, 2, 2)`` or broadcastable,
        symmetric positive definite on the grid: a tensor is a constant matrix, a Field is
        evaluated at the stacked points, a plain callable is called as ``diffusion(X, Y)``.
    grid_x, grid_y : tensor or array
        Uniform, increasing cell centres, at least :data:`MIN_POINTS` = 16 each. The box must hold
        essentially all the mass (zero flux is imposed on its edges).

    Returns
    -------
    Stationary2D
        ``.x, .y, .p (ny, nx), .j (ny, nx, 2), .residual, .peclet, .generator``.

    Raises
    ------
    ValueError
        Fewer than 16 points on an axis, non-uniform grid, a not symmetric positive definite (the
        message names a point where it fails), wrong shapes, a grid too coarse for the drift: cell
        Péclet number |b_i| h_i / a_ii > 1 (the spacing must be below the local diffusion length
        a_ii/|b_i|; central fluxes oscillate beyond it; the message names the worst point), or
        too coarse for the law: its standard deviation along an axis under
        :data:`MIN_CELLS_PER_SD` = 2 cells.

    Examples
    --------
    >>> import torch
    >>> g = torch.linspace(-5, 5, 61, dtype=torch.float64)
    >>> M = -torch.diag(torch.tensor([1.0, 2.0], dtype=torch.float64))  # OU, b(x) = Mx
    >>> r = solve_stationary_2d(M, 2 * torch.eye(2, dtype=torch.float64), g, g)  # D = I
    >>> r.p.shape, r.j.shape
    (torch.Size([61, 61]), torch.Size([61, 61, 2]))
    >>> float(r.j.abs().max()) < 1e-12            # A symmetric, D = I: detailed balance
    True
    """
    gx, gy = _grid(grid_x, "grid_x").double(), _grid(grid_y, "grid_y").double()
    hx, hy = _uniform(gx, "grid_x"), _uniform(gy, "grid_y")
    nx, ny = gx.numel(), gy.numel()
    Y, X = torch.meshgrid(gy, gx, indexing="ij")  # (ny, nx)
    b = torch.as_tensor(_on_grid(drift, X, Y), dtype=torch.float64)
    if b.shape != (ny, nx, 2):
        raise ValueError(
            f"drift(X, Y) must return shape (ny, nx, 2) = ({ny}, {nx}, 2), got {tuple(b.shape)}"
        )
    if isinstance(diffusion, Field):
        a = diffusion.on_grid(X, Y)
    else:
        a = diffusion(X, Y) if callable(diffusion) else diffusion
    a = torch.as_tensor(a, dtype=torch.float64)
    try:
        a = torch.broadcast_to(a, (ny, nx, 2, 2))
    except RuntimeError as exc:
        raise ValueError(
            f"diffusion(X, Y) must return shape (ny, nx, 2, 2) = ({ny}, {nx}, 2, 2) "
            f"or broadcastable, got {tuple(a.shape)}"
        ) from exc
    if not (bool(torch.isfinite(b).all()) and bool(torch.isfinite(a).all())):
        raise ValueError("drift and diffusion must be finite on the grid")
    axx, ayy, axy, ayx = a[..., 0, 0], a[..., 1, 1], a[..., 0, 1], a[..., 1, 0]
    if float((axy - ayx).abs().max()) > 1e-10 * float(a.abs().max()):
        raise ValueError("diffusion matrix a must be symmetric")
    bad = ~((axx > 0) & (axx * ayy - axy * ayx > 0))
    if bool(bad.any()):
        jj, ii = (int(v) for v in bad.nonzero()[0])
        raise ValueError(
            f"diffusion matrix a must be positive definite at every grid point; it is not at "
            f"{int(bad.sum())} of {nx * ny} points, e.g. (x, y) = ({float(gx[ii]):.4g}, "
            f"{float(gy[jj]):.4g}) (index [{jj}, {ii}]) where a = "
            f"[[{float(axx[jj, ii]):.3g}, {float(axy[jj, ii]):.3g}], "
            f"[{float(ayx[jj, ii]):.3g}, {float(ayy[jj, ii]):.3g}]]"
        )
    pe = torch.maximum(b[..., 0].abs() * hx / axx, b[..., 1].abs() * hy / ayy)
    peclet = float(pe.max())
    if peclet > 1.0:
        jj, ii = (int(v) for v in (pe == pe.max()).nonzero()[0])
        raise ValueError(
            f"grid too coarse for the drift: cell Péclet number |b_i| h_i / a_ii = "
            f"{peclet:.3g} > 1 at (x, y) = ({float(gx[ii]):.4g}, {float(gy[jj]):.4g}); refine "
            f"the grid (spacing below the diffusion length) or shrink the box"
        )

    npy = lambda t: t.reshape(-1).cpu().numpy()  # noqa: E731  (row-major: index j*nx + i)
    bx, by = sps.diags(npy(b[..., 0])), sps.diags(npy(b[..., 1]))
    Axx, Ayy, Axy = sps.diags(npy(axx)), sps.diags(npy(ayy)), sps.diags(npy(0.5 * (axy + ayx)))
    Ix, Iy = sps.eye(nx, format="csr"), sps.eye(ny, format="csr")
    Exm, Exp = _shifts(nx)
    Eym, Eyp = _shifts(ny)
    Sxm, Sxp = sps.kron(Iy, Exm), sps.kron(Iy, Exp)  # x-faces: ny*(nx-1) rows
    Sym, Syp = sps.kron(Eym, Ix), sps.kron(Eyp, Ix)  # y-faces: (ny-1)*nx rows
    Dyc, Dxc = sps.kron(_central_1d(ny, hy), Ix), sps.kron(Iy, _central_1d(nx, hx))
    Fx = 0.5 * (Sxm + Sxp) @ bx - (0.5 / hx) * (Sxp - Sxm) @ Axx - 0.25 * (Sxm + Sxp) @ Dyc @ Axy
    Fy = 0.5 * (Sym + Syp) @ by - (0.5 / hy) * (Syp - Sym) @ Ayy - 0.25 * (Sym + Syp) @ Dxc @ Axy
    # divergence of face fluxes (outgoing positive): Σ_faces = -(S+ - S-)^T
    L = ((Sxp - Sxm).T @ Fx / hx + (Syp - Sym).T @ Fy / hy).tocsr()

    N = nx * ny
    r = (ny // 2) * nx + nx // 2
    er = sps.csr_matrix((np.ones(1), ([r], [r])), shape=(N, N))
    norm_row = sps.csr_matrix((np.full(N, hx * hy), (np.full(N, r), np.arange(N))), shape=(N, N))
    M = L - er @ L + norm_row  # row r of L replaced by the normalisation Σ p hx hy = 1
    rhs = np.zeros(N)
    rhs[r] = 1.0
    p = spla.spsolve(M.tocsc(), rhs)
    if not np.all(np.isfinite(p)):
        raise RuntimeError("sparse solve failed (singular generator?)")
    _check_resolved(p.reshape(ny, nx), gx, gy, hx, hy)
    Lp = L @ p
    res = float(np.abs(Lp).max() / (abs(L).sum(axis=1).max() * np.abs(p).max()))
    jx_f, jy_f = (Fx @ p).reshape(ny, nx - 1), (Fy @ p).reshape(ny - 1, nx)
    jx = np.zeros((ny, nx))
    jy = np.zeros((ny, nx))
    jx[:, :-1] += 0.5 * jx_f
    jx[:, 1:] += 0.5 * jx_f
    jy[:-1, :] += 0.5 * jy_f
    jy[1:, :] += 0.5 * jy_f
    dtype = torch.float64
    return Stationary2D(
        x=gx,
        y=gy,
        p=torch.as_tensor(p.reshape(ny, nx), dtype=dtype),
        j=torch.as_tensor(np.stack([jx, jy], -1), dtype=dtype),
        residual=res,
        peclet=peclet,
        generator=L,
        hx=hx,
        hy=hy,
    )
