"""Closed form, teacher data, aligned initialisation, mode strengths and the two-layer problem."""

from __future__ import annotations

import math

import torch

from ...problems import Problem

__all__ = [
    "TwoLayerLinear",
    "saxe_mode_strength",
    "saxe_time_to",
    "whitened_teacher",
    "aligned_init",
    "mode_strengths",
    "effective_a0",
    "learning_times",
]


def _pos(name, v):
    if isinstance(v, torch.Tensor):
        if not bool((v > 0).all()):
            raise ValueError(f"{name} must be > 0")
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {v!r}")
    return float(v)


def saxe_mode_strength(t, s, a0, tau: float = 1.0):
    """Closed-form mode strength a(t) = s e^{2st/τ}/(e^{2st/τ} − 1 + s/a₀) (Saxe et al. 2014).

    Solves τ da/dt = 2a(s − a), a(0) = a₀ (0 < a₀). Broadcasts over tensors/floats.

    Examples
    --------
    >>> t = torch.tensor([0.0, 1.0, 100.0], dtype=torch.float64)
    >>> saxe_mode_strength(t, 2.0, 0.01).tolist()[0], round(saxe_mode_strength(t, 2.0, 0.01).tolist()[2], 12)
    (0.01, 2.0)
    """
    s, a0, tau = _pos("s", s), _pos("a0", a0), _pos("tau", tau)
    t = torch.as_tensor(t, dtype=torch.float64) if not isinstance(t, torch.Tensor) else t
    # divide through by e^{2st/τ} for stability at large t
    em = torch.exp(-2 * s * t / tau)
    return s / (1 - em + (s / a0) * em)


def saxe_time_to(frac, s, a0, tau: float = 1.0):
    """Time at which the closed-form mode reaches a = frac·s, for a₀ < frac·s < s.

    t = (τ/2s) ln( frac (s/a₀ − 1) / (1 − frac) ); frac = 1/2 gives (τ/2s) ln(s/a₀ − 1).

    Examples
    --------
    >>> t = saxe_time_to(0.5, 2.0, 0.01)
    >>> round(float(saxe_mode_strength(torch.tensor(t, dtype=torch.float64), 2.0, 0.01)), 12)
    1.0
    """
    if not 0 < float(frac) < 1:
        raise ValueError(f"frac must be in (0, 1); got {frac!r}")
    s, a0, tau = _pos("s", s), _pos("a0", a0), _pos("tau", tau)
    arg = frac * (s / a0 - 1) / (1 - frac)
    if isinstance(arg, torch.Tensor):
        return tau / (2 * s) * torch.log(arg)
    return tau / (2 * s) * math.log(arg)


def _orthogonal(k: int, gen: torch.Generator) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(k, k, generator=gen, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def whitened_teacher(
    n: int,
    d_in: int,
    d_out: int,
    singular_values,
    *,
    noise_std: float = 0.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device=None,
):
    """Whitened inputs and a linear teacher with prescribed singular values.

    X ``(n, d_in)`` has XᵀX/n = I exactly (Gaussian draws, orthonormalised and scaled by √n);
    the teacher is M = U diag(s) Vᵀ ``(d_out, d_in)`` with random orthogonal U, V; the targets are
    Y = X Mᵀ + noise_std·E. Without noise Σ_yx = YᵀX/n = M.

    Parameters
    ----------
    n : int ≥ d_in; d_in, d_out : int ≥ 1
    singular_values : sequence of r ≤ min(d_in, d_out) positive floats (descending)
    noise_std : float ≥ 0 (label noise, keeps the SGD noise alive at the minimum)
    seed : int (CPU generator); dtype, device : of X and Y

    Returns
    -------
    X, Y : Tensors; U ``(d_out, r)``, s ``(r,)``, V ``(d_in, r)`` (float64, CPU)

    Examples
    --------
    >>> X, Y, U, s, V = whitened_teacher(20, 3, 2, [2.0, 1.0])
    >>> bool(torch.allclose(X.T @ X / 20, torch.eye(3, dtype=torch.float64)))
    True
    >>> bool(torch.allclose(Y.T @ X / 20, U @ torch.diag(s) @ V.T))
    True
    """
    for name, v in (("n", n), ("d_in", d_in), ("d_out", d_out)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an int >= 1; got {v!r}")
    if n < d_in:
        raise ValueError(f"n must be >= d_in = {d_in} to whiten the inputs; got {n}")
    s = torch.as_tensor(singular_values, dtype=torch.float64).reshape(-1)
    r = s.numel()
    if r < 1 or r > min(d_in, d_out) or not bool((s > 0).all()):
        raise ValueError(
            f"singular_values must be 1..min(d_in, d_out) = {min(d_in, d_out)} positive numbers; got {singular_values!r}"
        )
    if not (isinstance(noise_std, (int, float)) and noise_std >= 0):
        raise ValueError(f"noise_std must be >= 0; got {noise_std!r}")
    gen = torch.Generator().manual_seed(int(seed))
    Z = torch.randn(n, d_in, generator=gen, dtype=torch.float64)
    Z = Z - Z.mean(0) if n > d_in else Z
    Q, R = torch.linalg.qr(Z)
    X = Q * torch.sign(torch.diagonal(R)) * math.sqrt(n)
    U = _orthogonal(d_out, gen)[:, :r]
    V = _orthogonal(d_in, gen)[:, :r]
    M = U @ torch.diag(s) @ V.T
    Y = X @ M.T + noise_std * torch.randn(n, d_out, generator=gen, dtype=torch.float64)
    return X.to(dtype=dtype, device=device), Y.to(dtype=dtype, device=device), U, s, V


def aligned_init(
    hidden: int, U: torch.Tensor, V: torch.Tensor, a0, *, seed: int = 0
) -> torch.Tensor:
    """Balanced, decoupled initialisation θ = (vec W₁, vec W₂) of a two-layer network.

    W₁ = Q diag(√a₀) Vᵀ ``(hidden, d_in)``, W₂ = U diag(√a₀) Qᵀ ``(d_out, hidden)`` with Q
    ``(hidden, r)`` orthonormal (seeded), so W₂W₁ = U diag(a₀) Vᵀ and W₁W₁ᵀ = W₂ᵀW₂: every mode
    α starts at strength a₀[α] and follows :func:`saxe_mode_strength` exactly under gradient flow.
    Layout and row-major order are those of :class:`sgdsde.problems.DeepLinearNetwork`.

    Examples
    --------
    >>> X, Y, U, s, V = whitened_teacher(10, 3, 3, [2.0, 1.0])
    >>> th = aligned_init(4, U, V, 0.01)
    >>> W1, W2 = th[:12].reshape(4, 3), th[12:].reshape(3, 4)
    >>> [round(v, 12) for v in mode_strengths(W2 @ W1, U, V).tolist()]
    [0.01, 0.01]
    """
    r = U.shape[1]
    if V.shape[1] != r:
        raise ValueError(
            f"U and V must have the same number of columns; got {U.shape[1]} and {V.shape[1]}"
        )
    if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < r:
        raise ValueError(f"hidden must be an int >= r = {r}; got {hidden!r}")
    a0 = torch.as_tensor(a0, dtype=torch.float64).expand(r)
    if not bool((a0 > 0).all()):
        raise ValueError("a0 must be > 0")
    gen = torch.Generator().manual_seed(int(seed))
    Q = _orthogonal(hidden, gen)[:, :r]
    b = a0.sqrt()
    W1 = Q @ torch.diag(b) @ V.T
    W2 = U @ torch.diag(b) @ Q.T
    return torch.cat([W1.reshape(-1), W2.reshape(-1)])


def mode_strengths(W: torch.Tensor, U: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """a_α = u_αᵀ W v_α for the end-to-end map W ``(..., d_out, d_in)``: ``(..., r)``.

    Examples
    --------
    >>> U = V = torch.eye(2, dtype=torch.float64)
    >>> mode_strengths(torch.tensor([[3.0, 1.0], [0.0, 2.0]], dtype=torch.float64), U, V).tolist()
    [3.0, 2.0]
    """
    U, V = U.to(W), V.to(W)
    return torch.einsum("or,...oi,ir->...r", U, W, V)


def effective_a0(
    W1: torch.Tensor, W2: torch.Tensor, U: torch.Tensor, V: torch.Tensor
) -> torch.Tensor:
    """Effective initial strength of each mode of a small, unaligned two-layer initialisation.

    Near W = 0 the mode's input and output vectors r = W₁v_α and c = W₂ᵀu_α obey
    dr/dt = s c, dc/dt = s r (the other modes still negligible), so r + c grows as e^{st} and r − c
    decays: a = cᵀr ≈ ¼‖r₀ + c₀‖² e^{2st}, the small-a form of the closed form with
    a₀ = ¼‖r₀ + c₀‖². Shapes: W₁ ``(..., h, d_in)``, W₂ ``(..., d_out, h)`` → ``(..., r)``.

    Examples
    --------
    >>> U = V = torch.eye(1, dtype=torch.float64)
    >>> W = torch.tensor([[0.1]], dtype=torch.float64)
    >>> round(float(effective_a0(W, W, U, V)), 12)          # r₀ = c₀ = 0.1: a₀ = ¼·0.2²
    0.01
    """
    U, V = U.to(W1), V.to(W1)
    r = torch.einsum("...hi,ir->...rh", W1, V)
    c = torch.einsum("...oh,or->...rh", W2, U)
    return 0.25 * ((r + c) ** 2).sum(-1)


def learning_times(
    t: torch.Tensor, a: torch.Tensor, s: torch.Tensor, frac: float = 0.5
) -> torch.Tensor:
    """First time each mode's strength reaches frac·s (linear interpolation between records).

    Parameters
    ----------
    t : Tensor ``(T,)`` increasing times
    a : Tensor ``(T, ..., r)`` mode strengths along a trajectory
    s : Tensor ``(r,)`` the target singular values
    frac : float in (0, 1)

    Returns
    -------
    Tensor ``(..., r)`` (float64), inf where the level is never reached

    Examples
    --------
    >>> t = torch.linspace(0, 10, 1001, dtype=torch.float64)
    >>> a = saxe_mode_strength(t, 2.0, 1e-3).unsqueeze(-1)
    >>> abs(float(learning_times(t, a, torch.tensor([2.0]))) - saxe_time_to(0.5, 2.0, 1e-3)) < 1e-4
    True
    """
    if not 0 < frac < 1:
        raise ValueError(f"frac must be in (0, 1); got {frac!r}")
    t = torch.as_tensor(t, dtype=torch.float64)
    a = a.to(torch.float64)
    if a.shape[0] != t.shape[0]:
        raise ValueError(
            f"a must have the time axis first with T = {t.shape[0]}; got {tuple(a.shape)}"
        )
    lvl = frac * torch.as_tensor(s, dtype=torch.float64).to(a.device)
    above = a >= lvl
    reached = above.any(0)
    k = above.to(torch.int8).argmax(0)  # first index above
    km = (k - 1).clamp(min=0)
    a1 = torch.gather(a, 0, k.unsqueeze(0)).squeeze(0)
    a0 = torch.gather(a, 0, km.unsqueeze(0)).squeeze(0)
    tt = t.to(a.device)
    t1, t0 = tt[k], tt[km]
    w = torch.where(a1 > a0, (lvl - a0) / (a1 - a0).clamp(min=1e-300), torch.ones_like(a1))
    out = torch.where(k > 0, t0 + w.clamp(0, 1) * (t1 - t0), t1)
    return torch.where(reached, out, torch.full_like(out, math.inf))


class TwoLayerLinear(Problem):
    """Two-layer linear network f(x) = W₂W₁x, ℓ_i = ½‖f(x_i) − y_i‖², with closed-form gradients.

    Same parameter layout as :class:`sgdsde.problems.DeepLinearNetwork` with ``widths = (d_in,
    hidden, d_out)``: θ = (vec W₁ ``(hidden, d_in)``, vec W₂ ``(d_out, hidden)``), row-major, so
    the two agree on every method; this one computes g_i = (W₂ᵀ r_i x_iᵀ, r_i (W₁x_i)ᵀ),
    r_i = W₂W₁x_i − y_i, by a few batched matrix products instead of ``torch.func`` (many times
    faster for the small networks of the chapter, and on CUDA).

    Parameters
    ----------
    hidden : int ≥ 1
    X : Tensor ``(n, d_in)``; Y : Tensor ``(n, d_out)`` (same dtype/device)
    theta0 : Tensor ``(d,)``, optional (default: entries N(0, init_scale²), seeded)
    init_scale : float ≥ 0; seed : int

    Examples
    --------
    >>> from sgdsde.problems import DeepLinearNetwork
    >>> X, Y, U, s, V = whitened_teacher(8, 3, 2, [1.0])
    >>> p = TwoLayerLinear(4, X, Y, init_scale=0.3)
    >>> q = DeepLinearNetwork((3, 4, 2), X, Y)
    >>> th = p.theta0
    >>> bool(torch.allclose(p.per_sample_grads(th), q.per_sample_grads(th)))
    True
    >>> bool(torch.allclose(p.loss(th), q.loss(th)))
    True
    """

    def __init__(
        self,
        hidden: int,
        X: torch.Tensor,
        Y: torch.Tensor,
        *,
        theta0: torch.Tensor | None = None,
        init_scale: float = 0.1,
        seed: int = 0,
    ):
        if not isinstance(X, torch.Tensor) or not isinstance(Y, torch.Tensor):
            raise TypeError("X and Y must be torch tensors")
        if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0] or X.shape[0] < 1:
            raise ValueError(
                f"X (n, d_in) and Y (n, d_out) must share n >= 1; got {tuple(X.shape)}, {tuple(Y.shape)}"
            )
        if not X.is_floating_point() or Y.dtype != X.dtype or Y.device != X.device:
            raise TypeError("X must be floating and Y must have X's dtype and device")
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden must be an int >= 1; got {hidden!r}")
        if not (
            isinstance(init_scale, (int, float)) and math.isfinite(init_scale) and init_scale >= 0
        ):
            raise ValueError(f"init_scale must be a finite float >= 0; got {init_scale!r}")
        self.X, self.Y = X, Y
        self.n, self.d_in = X.shape
        self.d_out, self.hidden = Y.shape[1], hidden
        self.n1 = hidden * self.d_in
        self.d = self.n1 + self.d_out * hidden
        self.dtype, self.device = X.dtype, X.device
        if theta0 is None:
            gen = torch.Generator().manual_seed(int(seed))
            theta0 = init_scale * torch.randn(self.d, generator=gen, dtype=torch.float64)
            theta0 = theta0.to(dtype=self.dtype, device=self.device)
        self.theta0 = self._theta(theta0, "theta0").reshape(self.d).clone()

    def weights(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(W₁ ``(..., hidden, d_in)``, W₂ ``(..., d_out, hidden)``)."""
        theta = self._theta(theta)
        lead = theta.shape[:-1]
        return (
            theta[..., : self.n1].reshape(*lead, self.hidden, self.d_in),
            theta[..., self.n1 :].reshape(*lead, self.d_out, self.hidden),
        )

    def end_to_end(self, theta: torch.Tensor) -> torch.Tensor:
        """W₂W₁ ``(..., d_out, d_in)``."""
        W1, W2 = self.weights(theta)
        return W2 @ W1

    def _parts(self, theta, Xb, Yb):
        W1, W2 = self.weights(theta)
        H = Xb @ W1.mT  # (..., m, hidden)
        R = H @ W2.mT - Yb  # (..., m, d_out)
        return W1, W2, H, R

    def per_sample_losses(self, theta):
        _, _, _, R = self._parts(theta, self.X, self.Y)
        return 0.5 * (R**2).sum(-1)

    def per_sample_grads(self, theta):
        W1, W2, H, R = self._parts(theta, self.X, self.Y)
        g1 = torch.einsum(
            "...mo,...oh,...mi->...mhi", R, W2, self.X.expand(*R.shape[:-1], self.d_in)
        )
        g2 = torch.einsum("...mo,...mh->...moh", R, H)
        lead = R.shape[:-1]
        return torch.cat([g1.reshape(*lead, self.n1), g2.reshape(*lead, self.d - self.n1)], -1)

    def _mean_grad(self, theta, Xb, Yb):
        W1, W2, H, R = self._parts(theta, Xb, Yb)
        m = Xb.shape[-2]
        g1 = (W2.mT @ R.mT @ Xb) / m  # (..., hidden, d_in)
        g2 = (R.mT @ H) / m  # (..., d_out, hidden)
        return torch.cat([g1.flatten(-2), g2.flatten(-2)], -1)

    def grad(self, theta):
        theta = self._theta(theta)
        return self._mean_grad(theta, self.X, self.Y)

    def batch_grad(self, theta, idx):
        theta = self._theta(theta)
        idx = self._idx(idx, theta)
        shape = self._batch_shape(theta, idx)
        th = theta.expand(*shape, self.d)
        return self._mean_grad(th, self.X[idx], self.Y[idx])
