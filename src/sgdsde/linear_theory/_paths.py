"""Exact moment paths of SGD and of the SDE (23) along a learning-rate schedule."""

from __future__ import annotations

import torch

from ._operators import (
    MomentOperators,
    _check_Bc,
    _check_ops,
    batch_hessian_moment,
)


def _check_lrs(lrs, ops) -> torch.Tensor:
    lrs = torch.as_tensor(lrs, dtype=ops.H.dtype).to(ops.H.device).reshape(-1)
    if not bool(torch.isfinite(lrs).all()) or bool((lrs <= 0).any()):
        raise ValueError("lrs must be finite learning rates > 0")
    return lrs


def _check_start(M0, m0, ops) -> tuple[torch.Tensor, torch.Tensor]:
    kw = dict(dtype=ops.H.dtype, device=ops.H.device)
    if M0 is None and m0 is None:
        return torch.zeros(ops.d**2, **kw), torch.zeros(ops.d, **kw)
    if M0 is None or m0 is None:
        raise ValueError(
            "pass both M0 = E[(θ_0 − θ̂)(θ_0 − θ̂)ᵀ] and m0 = E[θ_0 − θ̂] (or neither: start at θ̂); "
            "the second moment of a start away from θ̂ depends on its mean through the cross "
            "term (c/B)·Kc·m"
        )
    if not isinstance(M0, torch.Tensor) or M0.shape != (ops.d, ops.d):
        raise ValueError(f"M0 must be None or a tensor of shape (d, d) = ({ops.d}, {ops.d})")
    if not isinstance(m0, torch.Tensor) or m0.shape != (ops.d,):
        raise ValueError(f"m0 must be None or a tensor of shape (d,) = ({ops.d},)")
    return M0.reshape(-1).to(**kw), m0.to(**kw)


def sgd_moment_path(
    ops: MomentOperators,
    lrs,
    batch_size: int,
    c: float = 1.0,
    M0: torch.Tensor | None = None,
    m0: torch.Tensor | None = None,
) -> torch.Tensor:
    """SGD's exact second moments along a schedule.

    With m_k = E[θ_k − θ̂]: m_{k+1} = (I − η_k H) m_k and
    M_{k+1} = T(η_k) M_k + η_k²(c/B)(Σ̂ + Kc m_k); the cross term vanishes when started at θ̂ (or
    from any law with mean θ̂).

    Parameters
    ----------
    ops : MomentOperators
    lrs : sequence or Tensor ``(K,)`` of learning rates η_0, …, η_{K−1} > 0
    batch_size : int
    c : float in [0, 1], the finite-population factor (1 with replacement)
    M0, m0 : Tensor ``(d, d)`` and ``(d,)``, optional, given together
        E[(θ_0 − θ̂)(θ_0 − θ̂)ᵀ] and E[θ_0 − θ̂]; default 0 (started at θ̂). A deterministic start
        θ_0 has ``m0 = θ_0 − θ̂``, ``M0 = m0 m0ᵀ``.

    Returns
    -------
    Tensor ``(K + 1, d, d)``: M_0, …, M_K.

    Examples
    --------
    >>> from sgdsde.linear_theory import moment_operators, stationary_moment_sgd
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> Ms = sgd_moment_path(o, [0.1] * 400, 4)                # converges to the stationary M
    >>> Ms.shape, bool(torch.allclose(Ms[-1], stationary_moment_sgd(o, 0.1, 4)))
    (torch.Size([401, 2, 2]), True)
    """
    _check_ops(ops)
    B, c = _check_Bc(batch_size, c)
    lrs = _check_lrs(lrs, ops)
    M, m = _check_start(M0, m0, ops)
    I = torch.eye(ops.d**2, dtype=ops.H.dtype, device=ops.H.device)
    EHH = batch_hessian_moment(ops, B, c)  # E[H_B ⊗ H_B]: the same at every step
    Ms = [M]
    for e in lrs.tolist():
        T = I - e * ops.Hsum + e**2 * EHH
        M = T @ M + e**2 * c / B * (ops.S + ops.Kc @ m)
        m = m - e * ops.H @ m
        Ms.append(M)
    out = torch.stack(Ms).reshape(-1, ops.d, ops.d)
    if not bool(torch.isfinite(out).all()):
        raise ValueError(
            "sgd_moment_path: the second moment overflowed (steps beyond the stability edge)"
        )
    return out


def sde_moment_path(
    ops: MomentOperators,
    lrs,
    batch_size: int,
    c: float = 1.0,
    M0: torch.Tensor | None = None,
    m0: torch.Tensor | None = None,
) -> torch.Tensor:
    """Exact second moments of the time-changed SDE (23) at the times t_k = Σ_{j<k} η_j.

    On [t_k, t_k + η_k) the SDE dθ = −∇L_n dt + √(η_k c/B · Σ_emp(θ)) dW has dm/dt = −Hm and
    dM/dt = −A_k M + (η_k c/B)(Σ̂ + Kc m) with A_k = H⊕H − (η_k c/B)(K − H⊗H), solved exactly by
    the exponential of the augmented generator of (m, vec M, 1). A constant schedule gives the
    SDE (23) at t = kη.

    Parameters
    ----------
    As :func:`sgd_moment_path`.

    Returns
    -------
    Tensor ``(K + 1, d, d)``: M(t_0), …, M(t_K).

    Examples
    --------
    >>> from sgdsde.linear_theory import moment_operators, stationary_moment_sde
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> Ms = sde_moment_path(o, [0.1] * 400, 4)
    >>> bool(torch.allclose(Ms[-1], stationary_moment_sde(o, 0.1, 4)))
    True
    """
    _check_ops(ops)
    B, c = _check_Bc(batch_size, c)
    etas = _check_lrs(lrs, ops)
    M, m = _check_start(M0, m0, ops)
    d, d2 = ops.d, ops.d**2
    N = d + d2 + 1
    G = torch.zeros(etas.shape[0], N, N, dtype=ops.H.dtype, device=ops.H.device)
    w = (etas * c / B)[:, None, None]
    G[:, :d, :d] = -ops.H
    G[:, d : d + d2, :d] = w * ops.Kc
    G[:, d : d + d2, d : d + d2] = -(ops.Hsum - w * (ops.K - ops.HH))
    G[:, d : d + d2, -1] = w[:, :, 0] * ops.S
    E = torch.linalg.matrix_exp(G * etas[:, None, None])
    z = torch.cat([m, M, torch.ones(1, dtype=M.dtype, device=M.device)])
    Ms = [M]
    for k in range(etas.shape[0]):
        z = E[k] @ z
        Ms.append(z[d : d + d2])
    out = torch.stack(Ms).reshape(-1, ops.d, ops.d)
    if not bool(torch.isfinite(out).all()):
        raise ValueError("sde_moment_path: the second moment overflowed (A(η) not stable)")
    return out
