"""Geometry of a two-layer linear network at a point: symmetry directions, Hessian, Σ_emp."""

from __future__ import annotations

import torch
from torch.func import hessian

from ...noise import empirical_covariance
from ..deep_linear import TwoLayerLinear

__all__ = ["symmetry_directions", "hessian_matrix", "spectra", "kernel_residuals"]


def symmetry_directions(net: TwoLayerLinear, theta: torch.Tensor) -> torch.Tensor:
    """Orthonormal basis ``(k, d)`` of the tangent space of the GL(h) orbit through θ.

    f = W₂W₁ is unchanged by (W₁, W₂) → (G W₁, W₂ G⁻¹); the generators are
    ξ_A = (A W₁, −W₂ A) for A ∈ gl(h), in the layout of θ. Every per-sample Jacobian of f
    vanishes on them, so Σ_emp(θ) ξ_A = 0 at every θ; at a critical point ∇²L_n ξ_A = 0 too.

    Examples
    --------
    >>> from sgdsde.experiments.deep_linear import whitened_teacher
    >>> X, Y, *_ = whitened_teacher(16, 3, 3, [1.0])
    >>> net = TwoLayerLinear(2, X, Y, init_scale=0.5)
    >>> symmetry_directions(net, net.theta0).shape            # dim gl(2) = 4
    torch.Size([4, 12])
    """
    W1, W2 = net.weights(theta)
    h = W1.shape[0]
    gens = []
    for i in range(h):
        for j in range(h):
            A = torch.zeros(h, h, dtype=theta.dtype, device=theta.device)
            A[i, j] = 1.0
            gens.append(torch.cat([(A @ W1).reshape(-1), (-W2 @ A).reshape(-1)]))
    G = torch.stack(gens)
    U, s, Vh = torch.linalg.svd(G, full_matrices=False)
    keep = s > s.max() * G.shape[1] * torch.finfo(G.dtype).eps * 10
    return Vh[keep]


def hessian_matrix(net: TwoLayerLinear, theta: torch.Tensor) -> torch.Tensor:
    """∇²L_n(θ) ``(d, d)`` by automatic differentiation (symmetrised).

    Examples
    --------
    >>> from sgdsde.experiments.deep_linear import whitened_teacher
    >>> X, Y, *_ = whitened_teacher(16, 2, 2, [1.0])
    >>> net = TwoLayerLinear(1, X, Y, init_scale=0.5)
    >>> hessian_matrix(net, net.theta0).shape
    torch.Size([4, 4])
    """
    H = hessian(net.loss)(theta.detach())
    return 0.5 * (H + H.mT)


def spectra(net: TwoLayerLinear, theta: torch.Tensor) -> dict:
    """Eigenvalues (ascending) of ∇²L_n(θ) and Σ_emp(θ), with their eigenvectors.

    Examples
    --------
    >>> from sgdsde.experiments.deep_linear import whitened_teacher
    >>> X, Y, *_ = whitened_teacher(16, 2, 2, [1.0])
    >>> net = TwoLayerLinear(1, X, Y, init_scale=0.5)
    >>> sorted(spectra(net, net.theta0))
    ['H', 'H_vecs', 'Sigma', 'Sigma_vecs']
    """
    hv, hV = torch.linalg.eigh(hessian_matrix(net, theta))
    sv, sV = torch.linalg.eigh(empirical_covariance(net, theta.detach()))
    return {"H": hv, "H_vecs": hV, "Sigma": sv, "Sigma_vecs": sV}


def kernel_residuals(net: TwoLayerLinear, theta: torch.Tensor) -> dict:
    """How far Σ_emp and ∇²L_n are from vanishing on the symmetry directions, and more.

    ``sigma_sym`` = ‖Σ Ξᵀ‖/‖Σ‖ and ``hess_sym`` = ‖H Ξᵀ‖/‖H‖ (spectral norms, Ξ the orthonormal
    basis of :func:`symmetry_directions`); ``grad`` = ‖∇L_n(θ)‖; ``orbit_dim``; with the
    numerical kernel K of H (|h| ≤ ``tol``·‖H‖, tol = 10⁴·d·eps): ``ker_dim``,
    ``sigma_on_ker`` = ‖Σ K‖/‖Σ‖ and ``ker_outside_orbit`` = ‖(I − ΞᵀΞ) K‖.

    Examples
    --------
    >>> from sgdsde.experiments.deep_linear import whitened_teacher
    >>> X, Y, *_ = whitened_teacher(16, 2, 2, [1.0])
    >>> net = TwoLayerLinear(2, X, Y, init_scale=0.5)
    >>> bool(kernel_residuals(net, net.theta0)["sigma_sym"] < 1e-12)
    True
    """
    th = theta.detach()
    Xi = symmetry_directions(net, th)
    sp = spectra(net, th)
    H = hessian_matrix(net, th)
    S = empirical_covariance(net, th)
    nS = torch.linalg.matrix_norm(S, 2).clamp_min(torch.finfo(th.dtype).tiny)
    nH = torch.linalg.matrix_norm(H, 2)
    tol = 1e4 * net.d * torch.finfo(th.dtype).eps
    ker = sp["H_vecs"][:, sp["H"].abs() <= tol * nH]
    out = {
        "sigma_sym": float(torch.linalg.matrix_norm(S @ Xi.T, 2) / nS),
        "hess_sym": float(torch.linalg.matrix_norm(H @ Xi.T, 2) / nH),
        "grad": float(net.grad(th).norm()),
        "orbit_dim": int(Xi.shape[0]),
        "ker_dim": int(ker.shape[1]),
        "tol": tol,
    }
    if ker.shape[1]:
        out["sigma_on_ker"] = float(torch.linalg.matrix_norm(S @ ker, 2) / nS)
        out["ker_outside_orbit"] = float(torch.linalg.matrix_norm(ker - Xi.T @ (Xi @ ker), 2))
    return out
