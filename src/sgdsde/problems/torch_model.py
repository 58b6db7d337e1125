"""Any ``nn.Module`` with a per-sample loss (:class:`TorchModel`), its per-sample-gradient backends,
and the digits MLP (:func:`digits_mlp`).

Two backends compute g_i, g_n and g_B; a :class:`TorchModel` holds one as ``self.backend``:

* :class:`FuncBackend` (any module): ``torch.func`` — ``vmap(grad(ℓ))`` over samples nested in a
  ``vmap`` over chains, ``functional_call`` on views of the flat θ.
* :class:`LinearBackend` (stacks of ``nn.Linear`` and elementwise activations): one batched forward,
  one backward to the layer pre-activations, outer products written straight into the output
  (``sgdsde._linear_grads``). It reads ``torch._C._functorch`` (a private API) to step aside inside
  ``torch.func`` transforms, and steps aside for a θ that autograd tracks and under
  ``torch.inference_mode``; the generic backend then runs. It is kept because it pays on the
  benchmarks (``benchmarks/bench_core.py``, digits MLP n = 1797, d = 8970, float32, CPU):
  ``per_sample_grads`` 2–3× faster than :class:`FuncBackend` (about 1.8× on an H200), and
  ``batch_grad`` for 256 chains × B = 10 about 1.2× faster (0.067 s vs 0.082 s, one thread; row
  "batch_grad" there). ``backend="auto"``
  (default) picks it whenever the module qualifies.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from .. import _linear_grads
from .._validate import as_int, check_finite, check_tensor
from ..datasets import digits
from .base import Problem

__all__ = ["TorchModel", "FuncBackend", "LinearBackend", "digits_mlp", "cross_entropy"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class FuncBackend:
    """Per-sample gradients by ``torch.func`` for any module (the generic backend).

    Examples
    --------
    >>> from sgdsde.datasets import gaussian_regression
    >>> X, y = gaussian_regression(5, 2, seed=0)
    >>> p = TorchModel(nn.Linear(2, 1), lambda o, t: 0.5 * (o.squeeze(-1) - t) ** 2, X, y,
    ...                backend="func")
    >>> type(p.backend).__name__, p.fast_linear
    ('FuncBackend', False)
    """

    name = "func"

    def __init__(self, problem: TorchModel, chunk_size: int | None = None):
        model, loss_fn, unflatten = problem.model, problem.loss_fn, problem.unflatten
        buffers = problem.buffers

        def sample_loss(theta, x, t):  # one flat θ (d,), one example
            out = functional_call(model, (unflatten(theta), buffers), (x.unsqueeze(0),))
            return loss_fn(out.squeeze(0), t)

        def batch_loss(theta, xb, tb):  # one flat θ, a batch (B, ...): mean of per-sample losses
            out = functional_call(model, (unflatten(theta), buffers), (xb,))
            return vmap(loss_fn)(out, tb).mean()

        self.sample_loss = sample_loss
        self._psg = vmap(
            vmap(grad(sample_loss), in_dims=(None, 0, 0), chunk_size=chunk_size),
            in_dims=(0, None, None),
        )
        self._bg = vmap(grad(batch_loss), in_dims=(0, 0, 0))
        self._bg_shared = vmap(grad(batch_loss), in_dims=(None, 0, 0))
        self._g = vmap(grad(batch_loss), in_dims=(0, None, None))

    def usable(self, theta: torch.Tensor) -> bool:
        """Always: ``torch.func`` handles any θ."""
        return True

    def per_sample_grads(self, th, X, y, out: torch.Tensor | None = None) -> torch.Tensor:
        """g_i for θ ``(C, d)``: ``(C, n, d)`` (copied into ``out`` if given)."""
        G = self._psg(th, X, y)
        return G if out is None else out.copy_(G.reshape(out.shape))

    def mean_grad(self, th, X, y) -> torch.Tensor:
        """g_n for θ ``(C, d)``: ``(C, d)``."""
        return self._g(th, X, y)

    def batch_grad(self, th, Xb, yb) -> torch.Tensor:
        """g_B per chain for θ ``(C, d)`` or ``(d,)`` and batches ``Xb (C, B, ...)``: ``(C, d)``."""
        return self._bg_shared(th, Xb, yb) if th.ndim == 1 else self._bg(th, Xb, yb)


class LinearBackend:
    """The fast exact backend for stacks of ``nn.Linear`` layers and elementwise activations.

    :meth:`plan` returns ``None`` for a module that does not qualify (see ``sgdsde._linear_grads``).

    Examples
    --------
    >>> from sgdsde.datasets import gaussian_regression
    >>> X, y = gaussian_regression(5, 2, seed=0)
    >>> p = TorchModel(nn.Linear(2, 1), lambda o, t: 0.5 * (o.squeeze(-1) - t) ** 2, X, y)
    >>> type(p.backend).__name__, p.fast_linear
    ('LinearBackend', True)
    """

    name = "linear"

    def __init__(self, prog: list, loss_fn: LossFn):
        self.prog, self.loss_fn = prog, loss_fn

    @classmethod
    def plan(cls, problem: TorchModel) -> LinearBackend | None:
        """The backend for ``problem``'s module, or ``None`` if the module does not qualify."""
        prog = _linear_grads.plan(problem.model, problem.names, problem.numels, problem.X)
        return None if prog is None else cls(prog, problem.loss_fn)

    def usable(self, theta: torch.Tensor) -> bool:
        """False for a θ that autograd tracks, inside ``torch.func`` transforms or inference mode."""
        return _linear_grads.usable(theta)

    def per_sample_grads(self, th, X, y, out: torch.Tensor | None = None) -> torch.Tensor:
        if out is None:
            out = torch.empty(
                th.shape[0], X.shape[0], th.shape[1], dtype=th.dtype, device=th.device
            )
        return _linear_grads.per_sample_grads(self.prog, th, X, y, self.loss_fn, out=out)

    def mean_grad(self, th, X, y) -> torch.Tensor:
        return _linear_grads.mean_grad(self.prog, th, X, y, self.loss_fn)

    def batch_grad(self, th, Xb, yb) -> torch.Tensor:
        th = th.expand(Xb.shape[0], th.shape[-1]) if th.ndim == 1 else th
        return _linear_grads.mean_grad(self.prog, th, Xb, yb, self.loss_fn)


class TorchModel(Problem):
    """Any ``nn.Module`` with a per-sample loss; θ is the flat vector of its parameters.

    Per-sample gradients come from the backend (module docstring): :class:`LinearBackend` when
    the module is a stack of ``nn.Linear`` layers and elementwise activations (an
    ``nn.Sequential`` of ``Linear``/``Tanh``/``ReLU``/``Sigmoid``/``Identity``, or one
    ``nn.Linear``; no hooks, buffers or shared layers) and ``X`` is ``(n, in_features)``, else
    :class:`FuncBackend`. Both give the same numbers up to rounding order. ``batch_grad`` gathers
    the batch rows ``X[idx]`` ``(chains, B, ...)`` and takes, for each chain at once, the gradient
    of the batch-mean loss through the same backend.

    Parameters
    ----------
    model : nn.Module
        Copied (the caller's module is untouched) and moved to ``X``'s dtype and device. Its
        parameters at construction give ``theta0``; buffers are held constant.
    loss_fn : callable ``(output, target) -> scalar``
        Loss on ONE example: ``output`` is the model's output for one input (batch dim removed),
        ``target`` is ``y[i]``. E.g. :func:`cross_entropy`.
    X : Tensor ``(n, ...)``, floating, finite
    y : Tensor ``(n, ...)``
    chunk_size : int, optional
        Passed to ``vmap`` over samples in the generic backend's ``per_sample_grads`` to bound
        memory (the linear backend needs no more memory than its output).
    backend : ``"auto"`` (default), ``"linear"`` or ``"func"``
        ``"auto"`` uses the linear backend when the module qualifies; ``"linear"`` requires it
        (``ValueError`` if the module does not qualify); ``"func"`` forces ``torch.func``.
    fast_linear : bool, optional
        Older spelling: ``False`` is ``backend="func"``, ``True`` is ``backend="auto"``.

    Examples
    --------
    >>> from sgdsde.datasets import gaussian_regression
    >>> from sgdsde.problems import LinearRegression
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
    >>> p.fast_linear, TorchModel(lin, p.loss_fn, X, y, backend="func").fast_linear
    (True, False)
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        X: torch.Tensor,
        y: torch.Tensor,
        *,
        chunk_size: int | None = None,
        backend: str = "auto",
        fast_linear: bool | None = None,
    ):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        if not callable(loss_fn):
            raise TypeError("loss_fn must be callable (output, target) -> scalar loss")
        X, y = check_tensor("X", X), check_tensor("y", y)
        if not X.is_floating_point():
            raise TypeError(f"X must be a floating tensor, got {X.dtype}")
        if X.ndim < 1 or y.ndim < 1 or X.shape[0] != y.shape[0] or X.shape[0] < 1:
            raise ValueError(
                f"X (n, ...) and y (n, ...) must share n >= 1; got {tuple(X.shape)} and "
                f"{tuple(y.shape)}"
            )
        if fast_linear is not None:
            if not isinstance(fast_linear, bool):
                raise TypeError(f"fast_linear must be a bool, got {type(fast_linear).__name__}")
            backend = "auto" if fast_linear else "func"
        if backend not in ("auto", "linear", "func"):
            raise ValueError(f"backend must be 'auto', 'linear' or 'func'; got {backend!r}")
        if chunk_size is not None:
            chunk_size = as_int("chunk_size", chunk_size, min=1)
        check_finite("X", X)
        check_finite("y", y)
        self.X, self.y = X, y.to(X.device)
        self.dtype, self.device = X.dtype, X.device
        self.model = copy.deepcopy(model).to(dtype=self.dtype, device=self.device)
        self.loss_fn = loss_fn
        self.chunk_size = chunk_size
        named = list(self.model.named_parameters())
        if not named:
            raise ValueError("model has no parameters")
        self.names = [k for k, _ in named]
        self.shapes = [tuple(v.shape) for _, v in named]
        self.numels = [v.numel() for _, v in named]
        self.buffers = dict(self.model.named_buffers())
        self.n = X.shape[0]
        self.d = sum(self.numels)
        self.theta0 = torch.cat([v.detach().reshape(-1) for _, v in named]).clone()
        self.generic = FuncBackend(self, chunk_size)
        fast = None if backend == "func" else LinearBackend.plan(self)
        if backend == "linear" and fast is None:
            raise ValueError(
                "backend='linear' needs a stack of nn.Linear layers and elementwise activations "
                "with X of shape (n, in_features); use backend='auto' or 'func'"
            )
        self.backend: FuncBackend | LinearBackend = fast if fast is not None else self.generic
        self._losses = vmap(
            lambda th: vmap(self.loss_fn)(
                functional_call(self.model, (self.unflatten(th), self.buffers), (self.X,)), self.y
            )
        )

    @property
    def fast_linear(self) -> bool:
        """Whether the fast :class:`LinearBackend` is in use."""
        return isinstance(self.backend, LinearBackend)

    def _pick(self, th: torch.Tensor) -> FuncBackend | LinearBackend:
        return self.backend if self.backend.usable(th) else self.generic

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of a flat θ ``(d,)`` as the module's named parameters."""
        parts = torch.split(theta, self.numels)
        return {k: t.view(s) for k, t, s in zip(self.names, parts, self.shapes, strict=True)}

    def _flat(self, theta) -> tuple[torch.Tensor, torch.Size]:
        theta = self._theta(theta)
        return theta.reshape(-1, self.d), theta.shape[:-1]

    def per_sample_losses(self, theta):
        th, lead = self._flat(theta)
        return self._losses(th).reshape(*lead, self.n)

    def per_sample_grads(self, theta, *, out: torch.Tensor | None = None):
        """Per-sample gradients g_i(θ): θ ``(..., d)`` → ``(..., n, d)``.

        ``out``, optional: a contiguous tensor ``(..., n, d)`` of this problem's dtype and device to
        write into and return (the linear backend writes into it directly; a caller that asks for
        g_i repeatedly at this size saves the allocation of n·d numbers per call).
        """
        th, lead = self._flat(theta)
        if out is not None:
            out = check_tensor("out", out)
            if out.dtype != self.dtype:
                raise TypeError(f"out has dtype {out.dtype}; this problem's dtype is {self.dtype}")
            if out.shape != (*lead, self.n, self.d) or out.device != self.device:
                raise ValueError(
                    f"out must be a tensor on {self.device} of shape {(*lead, self.n, self.d)}; "
                    f"got {tuple(out.shape)} on {out.device}"
                )
            if not out.is_contiguous():
                raise ValueError("out must be contiguous")
        G = self._pick(th).per_sample_grads(th, self.X, self.y, out=out)
        return G.reshape(*lead, self.n, self.d)

    def grad(self, theta):
        th, lead = self._flat(theta)
        return self._pick(th).mean_grad(th, self.X, self.y).reshape(*lead, self.d)

    def batch_grad(self, theta, idx):
        theta = self._theta(theta)
        idx = self._idx(idx, theta)
        shape = self._batch_shape(theta, idx)
        ib = idx.reshape(-1, idx.shape[-1])
        Xb, yb = self.X[ib], self.y[ib]
        th = theta if theta.ndim == 1 else theta.reshape(-1, self.d)
        return self._pick(th).batch_grad(th, Xb, yb).reshape(*shape, self.d)

    def hessian(self, theta):
        """∇²L_n(θ) by ``torch.func`` (jacrev of grad): ``(..., d, d)``; refused for d > 4096."""
        th, lead = self._flat(theta)
        if self.d > 4096:
            raise NotImplementedError(f"d = {self.d} > 4096: a dense d×d Hessian is not cheap here")
        f = self.generic.sample_loss

        def L(t):
            return vmap(f, in_dims=(None, 0, 0))(t, self.X, self.y).mean()

        H = vmap(torch.func.jacrev(grad(L)))(th)  # reverse-over-reverse (no forward-AD warnings)
        return H.reshape(*lead, self.d, self.d)


def cross_entropy(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of one example: logits ``(C,)``, integer target ``()``.

    Examples
    --------
    >>> round(float(cross_entropy(torch.zeros(4), torch.tensor(1))), 6)   # log 4
    1.386294
    """
    return torch.logsumexp(out, -1) - out.gather(-1, t.unsqueeze(-1)).squeeze(-1)


_ce = cross_entropy  # older private name (tests)


def digits_mlp(
    hidden: Sequence[int] = (64, 64),
    *,
    n: int | None = None,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device: Any = None,
    activation: str = "tanh",
) -> TorchModel:
    """A Tanh MLP 64 → hidden → 10 on scikit-learn's digits with per-sample cross-entropy.

    Data from :func:`sgdsde.datasets.digits`. Weights use PyTorch's default ``nn.Linear``
    initialisation under ``torch.manual_seed(seed)`` inside a forked RNG (the global RNG is
    untouched).

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
    acts: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}
    if activation not in acts:
        raise ValueError(f"activation must be one of {sorted(acts)}; got {activation!r}")
    hidden = tuple(as_int(f"hidden[{i}]", h, min=1) for i, h in enumerate(hidden))
    seed = as_int("seed", seed)
    X, y = digits(n=n, seed=seed, dtype=dtype, device=device)
    widths = (X.shape[1], *hidden, 10)
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i < len(widths) - 2:
                layers.append(acts[activation]())
    return TorchModel(nn.Sequential(*layers), cross_entropy, X, y)


# --- binary cross-entropy on logits (a named loss for one-output models) -----------------------


def binary_cross_entropy(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of one example from its logit: ``out`` ``(1,)`` or ``()``, ``t`` in [0, 1].

    ℓ = log(1 + e^z) − t·z with z the logit, computed stably (``softplus``); the loss of a logistic
    regression ``TorchModel(nn.Linear(k, 1), binary_cross_entropy, X, y)``.

    Parameters
    ----------
    out : Tensor ``(1,)`` or ``()``: the logit z of one example
    t : Tensor ``()``: its label (0 or 1, or a probability)

    Returns
    -------
    Tensor ``()``

    Examples
    --------
    >>> round(float(binary_cross_entropy(torch.zeros(1), torch.tensor(1.0))), 6)   # log 2
    0.693147
    >>> round(float(binary_cross_entropy(torch.tensor([2.0]), torch.tensor(0.0))), 6)  # log(1+e²)
    2.126928
    """
    if out.numel() != 1 or t.numel() != 1:
        raise ValueError(
            "binary_cross_entropy takes one example: out and t must hold one value each; got "
            f"shapes {tuple(out.shape)} and {tuple(t.shape)}"
        )
    # Both to scalars: a label of shape (1,) (targets stored as (n, 1)) must not broadcast.
    z = out.reshape(())
    return torch.nn.functional.softplus(z) - t.reshape(()) * z


__all__ += ["binary_cross_entropy"]


def squared_error(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Half the squared error of one example, ½‖out − t‖²: the regression loss of a TorchModel.

    Examples
    --------
    >>> float(squared_error(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0])))
    2.5
    """
    return 0.5 * (out - t).pow(2).sum()


__all__ += ["squared_error"]
