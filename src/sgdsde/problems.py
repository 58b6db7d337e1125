"""The objects of the notes: losses ℓ_i, empirical risk L_n, per-sample gradients g_i, g_n, g_B.

A :class:`Problem` holds a data set D_n = {(x_i, y_i)}_{i=1}^n and a parametric loss. Its parameter
θ is one flat vector of length ``d``; every method accepts θ of shape ``(d,)`` or a batch of chains
``(..., d)`` and keeps the leading batch shape:

=========================  ====================  ==================================================
method                     shape                 notes' object
=========================  ====================  ==================================================
``per_sample_losses(θ)``   ``(..., n)``          ℓ(θ; x_i, y_i)
``loss(θ)``                ``(...,)``            L_n(θ) = (1/n) Σ_i ℓ_i
``per_sample_grads(θ)``    ``(..., n, d)``       g_i(θ)
``grad(θ)``                ``(..., d)``          g_n(θ) = ∇L_n(θ)
``batch_grad(θ, idx)``     ``(chains, d)``       g_B(θ) = (1/B) Σ_{i∈B} g_i, only the batch computed
``hessian(θ)``             ``(..., d, d)``       ∇²L_n(θ)
=========================  ====================  ==================================================

Concrete problems: :class:`LinearRegression` (closed form), :class:`TorchModel` (any ``nn.Module``,
per-sample gradients by ``torch.func``, or by a fast exact path for stacks of ``nn.Linear`` layers and
elementwise activations), :class:`DeepLinearNetwork`, and the data makers
:func:`gaussian_regression`, :func:`teacher_student`, :func:`digits_mlp`.

dtype and device follow the data; float64 paths are exact to rounding (closed forms in float64 for
:class:`LinearRegression`). Data are generated on the CPU with a seeded generator and then moved, so a
seed gives the same data set on every device.
"""
from __future__ import annotations

import copy
import math
from typing import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from sgdsde import _linear_grads, _reuse

__all__ = [
    "Problem",
    "LinearRegression",
    "TorchModel",
    "DeepLinearNetwork",
    "gaussian_regression",
    "teacher_student",
    "digits_mlp",
]


def _check_finite(name: str, t: torch.Tensor) -> None:
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{name} must be finite; it holds {bad} non-finite entries (NaN or inf)")


def _check_tensor(name: str, t) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    return t


class Problem:
    """Base class: a finite-sum objective L_n(θ) = (1/n) Σ_i ℓ(θ; x_i, y_i) over a flat θ ∈ R^d.

    Subclasses set ``n``, ``d``, ``dtype``, ``device``, ``theta0`` and implement
    :meth:`per_sample_losses`, :meth:`per_sample_grads` and :meth:`batch_grad`; :meth:`loss` and
    :meth:`grad` default to means over samples.

    Examples
    --------
    >>> X, y = gaussian_regression(8, 3, seed=1)
    >>> p = LinearRegression(X, y)
    >>> isinstance(p, Problem), p.n, p.d
    (True, 8, 3)
    """

    n: int
    d: int
    dtype: torch.dtype
    device: torch.device
    theta0: torch.Tensor

    # -- helpers -------------------------------------------------------------------------------
    def _theta(self, theta, name: str = "theta") -> torch.Tensor:
        """Validate θ: a floating tensor of this problem's dtype/device with last dim ``d``."""
        if not isinstance(theta, torch.Tensor):
            theta = torch.as_tensor(theta, dtype=self.dtype, device=self.device)
        if theta.ndim == 0 or theta.shape[-1] != self.d:
            raise ValueError(
                f"{name} must have shape (d,) or (..., d) with d = {self.d}; got {tuple(theta.shape)}"
            )
        if theta.dtype != self.dtype:
            raise TypeError(f"{name} has dtype {theta.dtype}; this problem's data are {self.dtype}")
        if theta.device != self.device:
            raise ValueError(f"{name} is on {theta.device}; this problem's data are on {self.device}")
        return theta

    def _idx(self, idx, theta: torch.Tensor) -> torch.Tensor:
        """Validate batch indices ``idx`` (..., B) against θ (..., d)."""
        idx = _check_tensor("idx", idx)
        if idx.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"idx must be an integer (long) tensor, got {idx.dtype}")
        if idx.ndim == 0 or idx.shape[-1] < 1:
            raise ValueError(f"idx must have shape (..., B) with B >= 1; got {tuple(idx.shape)}")
        if theta.ndim > 1 and idx.shape[:-1] != theta.shape[:-1]:
            raise ValueError(
                f"idx leading shape {tuple(idx.shape[:-1])} must match theta's {tuple(theta.shape[:-1])}"
            )
        return idx.to(self.device)

    def _batch_shape(self, theta: torch.Tensor, idx: torch.Tensor) -> tuple:
        return tuple(idx.shape[:-1]) if theta.ndim == 1 else tuple(theta.shape[:-1])

    # -- interface -----------------------------------------------------------------------------
    def per_sample_losses(self, theta: torch.Tensor) -> torch.Tensor:
        """ℓ(θ; x_i, y_i) for every sample: θ ``(..., d)`` → ``(..., n)``."""
        raise NotImplementedError

    def loss(self, theta: torch.Tensor) -> torch.Tensor:
        """Empirical risk L_n(θ): θ ``(..., d)`` → ``(...,)``."""
        return self.per_sample_losses(theta).mean(-1)

    def per_sample_grads(self, theta: torch.Tensor) -> torch.Tensor:
        """Per-sample gradients g_i(θ): θ ``(..., d)`` → ``(..., n, d)``."""
        raise NotImplementedError

    def grad(self, theta: torch.Tensor) -> torch.Tensor:
        """Empirical gradient g_n(θ) = (1/n) Σ_i g_i(θ): θ ``(..., d)`` → ``(..., d)``."""
        return self.per_sample_grads(theta).mean(-2)

    def batch_grad(self, theta: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Minibatch gradient g_B(θ) = (1/B) Σ_{i ∈ idx} g_i(θ), computing only the batch.

        Parameters
        ----------
        theta : Tensor ``(chains, d)`` (or ``(d,)``, shared by every row of ``idx``)
        idx : LongTensor ``(chains, B)`` (repeated indices count with multiplicity)

        Returns
        -------
        Tensor ``(chains, d)``
        """
        raise NotImplementedError

    def hessian(self, theta: torch.Tensor) -> torch.Tensor:
        """Hessian ∇²L_n(θ): θ ``(..., d)`` → ``(..., d, d)``."""
        raise NotImplementedError(f"{type(self).__name__} has no cheap Hessian")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, d={self.d}, dtype={self.dtype}, device={self.device})"


class LinearRegression(Problem):
    """Least squares ℓ_i(θ) = ½ (x_iᵀθ − y_i)², everything in closed form.

    g_i(θ) = (x_iᵀθ − y_i) x_i, g_n(θ) = Xᵀ(Xθ − y)/n, ∇²L_n = XᵀX/n.

    Parameters
    ----------
    X : Tensor ``(n, d)``, floating, finite
    y : Tensor ``(n,)``, same dtype and device as ``X``
    theta0 : Tensor ``(d,)``, optional default initial point (zeros if omitted)

    Examples
    --------
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    >>> p = LinearRegression(X, torch.tensor([1.0, 2.0], dtype=torch.float64))
    >>> p.loss(torch.zeros(2, dtype=torch.float64))
    tensor(1.2500, dtype=torch.float64)
    >>> p.per_sample_grads(torch.zeros(2, dtype=torch.float64))
    tensor([[-1., -0.],
            [-0., -4.]], dtype=torch.float64)
    >>> p.batch_grad(torch.zeros(3, 2, dtype=torch.float64), torch.tensor([[0], [1], [1]])).shape
    torch.Size([3, 2])
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, theta0: torch.Tensor | None = None):
        X, y = _check_tensor("X", X), _check_tensor("y", y)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (n, d); got {tuple(X.shape)}")
        if not X.is_floating_point():
            raise TypeError(f"X must be a floating tensor, got {X.dtype}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape (n,) = ({X.shape[0]},); got {tuple(y.shape)}")
        if y.dtype != X.dtype or y.device != X.device:
            raise TypeError(f"y ({y.dtype}, {y.device}) must match X ({X.dtype}, {X.device})")
        if X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(f"X must have n >= 1 rows and d >= 1 columns; got {tuple(X.shape)}")
        _check_finite("X", X)
        _check_finite("y", y)
        self.X, self.y = X, y
        self.n, self.d = X.shape
        self.dtype, self.device = X.dtype, X.device
        self.theta0 = torch.zeros(self.d, dtype=self.dtype, device=self.device)
        if theta0 is not None:
            self.theta0 = self._theta(theta0, "theta0").clone()
            if self.theta0.ndim != 1:
                raise ValueError(f"theta0 must have shape (d,) = ({self.d},)")

    def residuals(self, theta: torch.Tensor) -> torch.Tensor:
        """r_i = x_iᵀθ − y_i: θ ``(..., d)`` → ``(..., n)``."""
        theta = self._theta(theta)
        return theta @ self.X.T - self.y

    def per_sample_losses(self, theta):
        return 0.5 * self.residuals(theta) ** 2

    def per_sample_grads(self, theta):
        return self.residuals(theta).unsqueeze(-1) * self.X

    def grad(self, theta):
        return self.residuals(theta) @ self.X / self.n

    def batch_grad(self, theta, idx):
        theta = self._theta(theta)
        idx = self._idx(idx, theta)
        flat = idx.reshape(-1)
        Xb = self.X.index_select(0, flat).view(*idx.shape, self.d)  # (chains, B, d), faster than X[idx]
        yb = self.y.index_select(0, flat).view(idx.shape)  # (chains, B)
        th = theta.expand(*self._batch_shape(theta, idx), self.d)
        r = (Xb @ th.unsqueeze(-1)).squeeze(-1) - yb  # residuals (chains, B)
        return (r.unsqueeze(-2) @ Xb).squeeze(-2).mul_(1.0 / idx.shape[-1])

    def hessian(self, theta):
        theta = self._theta(theta)
        H = self.X.T @ self.X / self.n
        return H.expand(*theta.shape[:-1], self.d, self.d)

    def minimizer(self) -> torch.Tensor:
        """A least-squares minimiser θ̂ of L_n (minimum-norm if XᵀX is singular), ``(d,)``.

        Examples
        --------
        >>> p = LinearRegression(*gaussian_regression(50, 3, noise_std=0.0))
        >>> bool(torch.allclose(p.minimizer(), torch.ones(3, dtype=torch.float64) / 3 ** 0.5))
        True
        """
        return torch.linalg.pinv(self.X) @ self.y


class TorchModel(Problem):
    """Any ``nn.Module`` with a per-sample loss; θ is the flat vector of its parameters.

    Per-sample gradients use ``torch.func``: ``vmap(grad(ℓ))`` over samples, nested in a ``vmap``
    over chains, with ``functional_call`` on views of the flat θ (no Python loop over samples or
    chains). ``batch_grad`` gathers the batch rows ``X[idx]`` ``(chains, B, ...)`` and takes, for
    each chain at once, the gradient of the batch-mean loss.

    Fast exact path: when the module is a stack of ``nn.Linear`` layers and elementwise activations
    (an ``nn.Sequential`` of ``Linear``/``Tanh``/``ReLU``/``Sigmoid``/``Identity``, or one
    ``nn.Linear``; no hooks, buffers or shared layers) and ``X`` is ``(n, in_features)``,
    :meth:`per_sample_grads` and :meth:`grad` instead run one batched forward pass, one backward of
    Σ_i ℓ_i to the layer pre-activations z_l (whose rows are the per-sample δ_l = ∂ℓ_i/∂z_l), and
    write g_i = (δ_l a_lᵀ, δ_l) layer by layer straight into the output (see
    ``sgdsde._linear_grads``). Same numbers up to rounding order; 2–3× faster than the generic path on
    the digits MLP on CPU, about 1.8× on an H200. It is
    detected at construction (``self.fast_linear`` says whether it is used) and skipped for a θ that
    autograd tracks or that a ``torch.func`` transform wraps, which keep the generic path.

    Parameters
    ----------
    model : nn.Module
        Copied (the caller's module is untouched) and moved to ``X``'s dtype and device. Its
        parameters at construction give ``theta0``; buffers are held constant.
    loss_fn : callable ``(output, target) -> scalar``
        Loss on ONE example: ``output`` is the model's output for one input (batch dim removed),
        ``target`` is ``y[i]``. E.g. ``torch.nn.functional.cross_entropy``.
    X : Tensor ``(n, ...)``, floating, finite
    y : Tensor ``(n, ...)``
    chunk_size : int, optional
        Passed to ``vmap`` over samples in :meth:`per_sample_grads` to bound memory (generic path
        only: the fast path needs no more memory than its output).
    fast_linear : bool, default True
        Use the fast exact path above when the module qualifies; ``False`` forces ``torch.func``.

    Examples
    --------
    >>> torch.manual_seed(0) is not None
    True
    >>> X, y = gaussian_regression(6, 2, seed=0)
    >>> lin = nn.Linear(2, 1, bias=False)
    >>> p = TorchModel(lin, lambda out, t: 0.5 * (out.squeeze(-1) - t) ** 2, X, y)
    >>> p.d, p.per_sample_grads(p.theta0).shape
    (2, torch.Size([6, 2]))
    >>> ref = LinearRegression(X, y).per_sample_grads(p.theta0)
    >>> bool(torch.allclose(p.per_sample_grads(p.theta0), ref))
    True
    >>> p.fast_linear, TorchModel(lin, p.loss_fn, X, y, fast_linear=False).fast_linear
    (True, False)
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        X: torch.Tensor,
        y: torch.Tensor,
        *,
        chunk_size: int | None = None,
        fast_linear: bool = True,
    ):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        if not callable(loss_fn):
            raise TypeError("loss_fn must be callable (output, target) -> scalar loss")
        X, y = _check_tensor("X", X), _check_tensor("y", y)
        if not X.is_floating_point():
            raise TypeError(f"X must be a floating tensor, got {X.dtype}")
        if X.ndim < 1 or y.ndim < 1 or X.shape[0] != y.shape[0] or X.shape[0] < 1:
            raise ValueError(
                f"X (n, ...) and y (n, ...) must share n >= 1; got {tuple(X.shape)} and {tuple(y.shape)}"
            )
        _check_finite("X", X)
        _check_finite("y", y)
        self.X, self.y = X, y.to(X.device)
        self.dtype, self.device = X.dtype, X.device
        self.model = copy.deepcopy(model).to(dtype=self.dtype, device=self.device)
        self.loss_fn = loss_fn
        self.chunk_size = chunk_size
        named = [(k, v) for k, v in self.model.named_parameters()]
        if not named:
            raise ValueError("model has no parameters")
        self.names = [k for k, _ in named]
        self.shapes = [tuple(v.shape) for _, v in named]
        self.numels = [v.numel() for _, v in named]
        self.buffers = {k: b for k, b in self.model.named_buffers()}
        self.n = X.shape[0]
        self.d = sum(self.numels)
        self.theta0 = torch.cat([v.detach().reshape(-1) for _, v in named]).clone()

        def sample_loss(theta, x, t):  # one flat θ (d,), one example
            out = functional_call(self.model, (self.unflatten(theta), self.buffers), (x.unsqueeze(0),))
            return self.loss_fn(out.squeeze(0), t)

        def batch_loss(theta, xb, tb):  # one flat θ, a batch (B, ...): mean of per-sample losses
            out = functional_call(self.model, (self.unflatten(theta), self.buffers), (xb,))
            return vmap(self.loss_fn)(out, tb).mean()

        self._sample_loss = sample_loss
        self._losses = vmap(
            lambda th: vmap(self.loss_fn)(
                functional_call(self.model, (self.unflatten(th), self.buffers), (self.X,)), self.y
            )
        )
        self._psg = vmap(
            vmap(grad(sample_loss), in_dims=(None, 0, 0), chunk_size=chunk_size), in_dims=(0, None, None)
        )
        self._bg = vmap(grad(batch_loss), in_dims=(0, 0, 0))
        self._bg_shared = vmap(grad(batch_loss), in_dims=(None, 0, 0))
        self._g = vmap(grad(batch_loss), in_dims=(0, None, None))
        if not isinstance(fast_linear, bool):
            raise TypeError(f"fast_linear must be a bool, got {type(fast_linear).__name__}")
        self._plan = _linear_grads.plan(self.model, self.names, self.numels, self.X) if fast_linear else None
        self.fast_linear = self._plan is not None
        self._out = _reuse.ReusableBuffer()

    def clear_cache(self) -> None:
        """Free the output buffer that :meth:`per_sample_grads` keeps for reuse (CPU, fast path)."""
        self._out.clear()

    def _fast(self, th: torch.Tensor) -> bool:
        return self._plan is not None and _linear_grads.usable(th)

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of a flat θ ``(d,)`` as the module's named parameters."""
        return {
            k: t.view(s) for k, t, s in zip(self.names, torch.split(theta, self.numels), self.shapes)
        }

    def _flat(self, theta):
        theta = self._theta(theta)
        return theta.reshape(-1, self.d), theta.shape[:-1]

    def per_sample_losses(self, theta):
        th, lead = self._flat(theta)
        return self._losses(th).reshape(*lead, self.n)

    def per_sample_grads(self, theta, *, out: torch.Tensor | None = None):
        """Per-sample gradients g_i(θ): θ ``(..., d)`` → ``(..., n, d)``.

        ``out``, optional: a contiguous tensor ``(..., n, d)`` of this problem's dtype and device to
        write into and return (the fast path writes into it directly).

        Without ``out``, the fast path on CPU writes into a buffer the problem keeps: the memory of
        the previous result if nothing holds it any more (no tensor, view, slice or ``.numpy()``
        array of it is alive), else a fresh one. A result the caller keeps is never overwritten;
        a dropped one is recycled instead of page-faulting a new n·d buffer in on every call.
        :meth:`clear_cache` frees the kept buffer. The work (n·d numbers) is far above the size at
        which :func:`sgdsde.sgd.recommended_threads` stays on one thread, so it runs at torch's
        thread count: on CPU it is bound by the stores of the output (``benchmarks/bench_core.py``).
        """
        th, lead = self._flat(theta)
        if out is not None:
            out = _check_tensor("out", out)
            if out.shape != (*lead, self.n, self.d) or out.dtype != self.dtype or out.device != self.device:
                raise ValueError(f"out must be a {self.dtype} tensor on {self.device} of shape "
                                 f"{(*lead, self.n, self.d)}; got {out.dtype} on {out.device}, {tuple(out.shape)}")
            if not out.is_contiguous():
                raise ValueError("out must be contiguous")
        if self._fast(th):
            if out is None:  # recycle the previous result's memory if the caller has dropped it
                out = self._out.empty((th.shape[0], self.n, self.d), self.dtype, self.device)
            G = _linear_grads.per_sample_grads(self._plan, th, self.X, self.y, self.loss_fn, out=out)
        else:
            G = self._psg(th, self.X, self.y)
            if out is not None:
                G = out.copy_(G.reshape(out.shape))
        return G.reshape(*lead, self.n, self.d)

    def grad(self, theta):
        th, lead = self._flat(theta)
        if self._fast(th):
            g = _linear_grads.mean_grad(self._plan, th, self.X, self.y, self.loss_fn)
        else:
            g = self._g(th, self.X, self.y)
        return g.reshape(*lead, self.d)

    def batch_grad(self, theta, idx):
        theta = self._theta(theta)
        idx = self._idx(idx, theta)
        shape = self._batch_shape(theta, idx)
        ib = idx.reshape(-1, idx.shape[-1])
        Xb, yb = self.X[ib], self.y[ib]
        if theta.ndim == 1:
            g = self._bg_shared(theta, Xb, yb)
        else:
            g = self._bg(theta.reshape(-1, self.d), Xb, yb)
        return g.reshape(*shape, self.d)

    def hessian(self, theta):
        """∇²L_n(θ) by ``torch.func`` (jacrev of grad): ``(..., d, d)``; refused for d > 4096."""
        th, lead = self._flat(theta)
        if self.d > 4096:
            raise NotImplementedError(f"d = {self.d} > 4096: a dense d×d Hessian is not cheap here")
        L = lambda t: vmap(self._sample_loss, in_dims=(None, 0, 0))(t, self.X, self.y).mean()  # noqa: E731
        H = vmap(torch.func.jacrev(grad(L)))(th)  # reverse-over-reverse (no forward-AD warnings)
        return H.reshape(*lead, self.d, self.d)


class DeepLinearNetwork(TorchModel):
    """Deep linear network f(x) = W_L ⋯ W_1 x with squared loss ℓ_i = ½‖f(x_i) − y_i‖².

    θ = (vec W_1, …, vec W_L) (row-major), W_l of shape ``(widths[l], widths[l-1])``.

    Parameters
    ----------
    widths : sequence of int, length ≥ 2
        ``(d_in, d_1, …, d_out)``.
    X : Tensor ``(n, d_in)``
    Y : Tensor ``(n, d_out)``
    init_scale : float
        Initial entries of every W_l are i.i.d. N(0, init_scale²) (small values give the
        saddle-to-saddle regime of deep linear networks).
    seed : int
        Seed of the initialisation (CPU generator, so identical on every device).

    Examples
    --------
    >>> X, Y = teacher_student(20, 3, 2, 2, seed=0)
    >>> net = DeepLinearNetwork((3, 4, 2), X, Y, init_scale=0.1)
    >>> net.d, net.end_to_end(net.theta0).shape
    (20, torch.Size([2, 3]))
    """

    def __init__(self, widths: Sequence[int], X: torch.Tensor, Y: torch.Tensor, *,
                 init_scale: float = 0.1, seed: int = 0):
        widths = tuple(int(w) for w in widths)
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"widths must be >= 2 positive ints (d_in, ..., d_out); got {widths}")
        if not (isinstance(init_scale, (int, float)) and math.isfinite(init_scale) and init_scale >= 0):
            raise ValueError(f"init_scale must be a finite float >= 0; got {init_scale}")
        X, Y = _check_tensor("X", X), _check_tensor("Y", Y)
        if X.ndim != 2 or X.shape[1] != widths[0]:
            raise ValueError(f"X must have shape (n, widths[0]) = (n, {widths[0]}); got {tuple(X.shape)}")
        if Y.ndim != 2 or Y.shape != (X.shape[0], widths[-1]):
            raise ValueError(
                f"Y must have shape (n, widths[-1]) = ({X.shape[0]}, {widths[-1]}); got {tuple(Y.shape)}"
            )
        self.widths = widths
        gen = torch.Generator().manual_seed(seed)
        layers = []
        for a, b in zip(widths[:-1], widths[1:]):
            lin = nn.Linear(a, b, bias=False, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(init_scale * torch.randn(b, a, generator=gen, dtype=torch.float64))
            layers.append(lin)
        model = nn.Sequential(*layers)
        super().__init__(model, lambda out, t: 0.5 * ((out - t) ** 2).sum(), X, Y)

    def weights(self, theta: torch.Tensor) -> list[torch.Tensor]:
        """The layer matrices [W_1, …, W_L], each ``(..., widths[l], widths[l-1])``."""
        theta = self._theta(theta)
        parts = torch.split(theta, self.numels, dim=-1)
        return [p.reshape(*theta.shape[:-1], *s) for p, s in zip(parts, self.shapes)]

    def end_to_end(self, theta: torch.Tensor) -> torch.Tensor:
        """The product W_L ⋯ W_1, ``(..., d_out, d_in)``."""
        Ws = self.weights(theta)
        P = Ws[0]
        for W in Ws[1:]:
            P = W @ P
        return P


def _gen(seed: int) -> torch.Generator:
    if not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return torch.Generator().manual_seed(seed)


def _pos_int(name: str, v) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{name} must be an int >= 1; got {v!r}")
    return v


def gaussian_regression(n: int, d: int, *, theta_star: torch.Tensor | None = None, noise_std: float = 1.0,
                        seed: int = 0, dtype: torch.dtype = torch.float64, device=None):
    """Synthetic regression data: x_i ~ N(0, I_d), ``y_i = x_iᵀθ* + noise_std·ε_i``, ε_i ~ N(0, 1).

    Parameters
    ----------
    n, d : int ≥ 1
    theta_star : Tensor ``(d,)``, optional (default ``ones(d)/sqrt(d)``)
    noise_std : float ≥ 0
    seed : int (CPU generator; identical data on every device)
    dtype, device : of the returned tensors

    Returns
    -------
    X : Tensor ``(n, d)``
    y : Tensor ``(n,)``

    Examples
    --------
    >>> X, y = gaussian_regression(4, 2, seed=0)
    >>> X.shape, y.shape, X.dtype
    (torch.Size([4, 2]), torch.Size([4]), torch.float64)
    """
    n, d = _pos_int("n", n), _pos_int("d", d)
    if not (math.isfinite(noise_std) and noise_std >= 0):
        raise ValueError(f"noise_std must be a finite float >= 0; got {noise_std}")
    g = _gen(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    eps = torch.randn(n, generator=g, dtype=torch.float64)
    if theta_star is None:
        ts = torch.ones(d, dtype=torch.float64) / math.sqrt(d)
    else:
        ts = _check_tensor("theta_star", theta_star).detach().to("cpu", torch.float64)
        if ts.shape != (d,):
            raise ValueError(f"theta_star must have shape (d,) = ({d},); got {tuple(ts.shape)}")
    y = X @ ts + noise_std * eps
    return X.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)


def teacher_student(n: int, d_in: int, d_hidden: int, d_out: int, *, noise_std: float = 0.0, seed: int = 0,
                    dtype: torch.dtype = torch.float64, device=None):
    """Data from a linear teacher of rank ≤ ``d_hidden``: Y = X W₁ᵀW₂ᵀ + noise_std·E.

    x_i ~ N(0, I_{d_in}); teacher W₁ ``(d_hidden, d_in)`` and W₂ ``(d_out, d_hidden)`` with entries
    N(0, 1/fan_in); E standard normal ``(n, d_out)``. Meant for :class:`DeepLinearNetwork` students.

    Returns
    -------
    X : Tensor ``(n, d_in)``
    Y : Tensor ``(n, d_out)``

    Examples
    --------
    >>> X, Y = teacher_student(10, 4, 2, 3, seed=0)
    >>> X.shape, Y.shape, int(torch.linalg.matrix_rank(Y))
    (torch.Size([10, 4]), torch.Size([10, 3]), 2)
    """
    n, d_in, d_hidden, d_out = (_pos_int(k, v) for k, v in
                                (("n", n), ("d_in", d_in), ("d_hidden", d_hidden), ("d_out", d_out)))
    if not (math.isfinite(noise_std) and noise_std >= 0):
        raise ValueError(f"noise_std must be a finite float >= 0; got {noise_std}")
    g = _gen(seed)
    X = torch.randn(n, d_in, generator=g, dtype=torch.float64)
    W1 = torch.randn(d_hidden, d_in, generator=g, dtype=torch.float64) / math.sqrt(d_in)
    W2 = torch.randn(d_out, d_hidden, generator=g, dtype=torch.float64) / math.sqrt(d_hidden)
    Y = X @ W1.T @ W2.T + noise_std * torch.randn(n, d_out, generator=g, dtype=torch.float64)
    return X.to(device=device, dtype=dtype), Y.to(device=device, dtype=dtype)


def _ce(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of one example: logits ``(C,)``, integer target ``()``."""
    return torch.logsumexp(out, -1) - out.gather(-1, t.unsqueeze(-1)).squeeze(-1)


def digits_mlp(hidden: Sequence[int] = (64, 64), *, n: int | None = None, seed: int = 0,
               dtype: torch.dtype = torch.float32, device=None, activation: str = "tanh") -> TorchModel:
    """A Tanh MLP 64 → hidden → 10 on scikit-learn's ``load_digits`` with per-sample cross-entropy.

    The 1797 8×8 digit images ship with scikit-learn (no download). Features are standardised per
    pixel (columns with zero variance are centred only), targets are the classes 0–9. Weights use
    PyTorch's default ``nn.Linear`` initialisation under ``torch.manual_seed(seed)``-free seeding
    (a local CPU generator fork).

    Parameters
    ----------
    hidden : sequence of int, the hidden widths (default (64, 64): d = 8970)
    n : int, optional; the first ``n`` samples of a seeded permutation (default all 1797)
    seed : int; fixes the permutation and the initial weights
    dtype, device : of data and parameters
    activation : ``"tanh"`` (default, smooth) or ``"relu"``

    Examples
    --------
    >>> p = digits_mlp(n=50)
    >>> p.n, p.d, p.per_sample_grads(p.theta0).shape
    (50, 8970, torch.Size([50, 8970]))
    """
    from sklearn.datasets import load_digits

    acts = {"tanh": nn.Tanh, "relu": nn.ReLU}
    if activation not in acts:
        raise ValueError(f"activation must be one of {sorted(acts)}; got {activation!r}")
    hidden = tuple(_pos_int("hidden[i]", int(h)) for h in hidden)
    data = load_digits()
    X = torch.tensor(data.data, dtype=torch.float64)
    y = torch.tensor(data.target, dtype=torch.long)
    if n is not None and not (isinstance(n, int) and 1 <= n <= X.shape[0]):
        raise ValueError(f"n must be an int in [1, {X.shape[0]}] or None; got {n!r}")
    mu, sd = X.mean(0), X.std(0)
    X = (X - mu) / torch.where(sd > 0, sd, torch.ones_like(sd))
    g = _gen(seed)
    perm = torch.randperm(X.shape[0], generator=g)
    if n is not None:
        perm = perm[:n]
    X, y = X[perm], y[perm]
    widths = (X.shape[1], *hidden, 10)
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(widths) - 2:
                layers.append(acts[activation]())
    model = nn.Sequential(*layers)
    return TorchModel(model, _ce, X.to(device=device, dtype=dtype), y.to(device=device))
