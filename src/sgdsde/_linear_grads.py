"""Exact per-sample gradients of a stack of ``nn.Linear`` layers and elementwise activations.

Private helper of :class:`sgdsde.problems.TorchModel`. For f = h_L ∘ ⋯ ∘ h_1 with Linear layers
z_l = a_l W_lᵀ + b_l (a_l the layer's input activations, ``(n, in_l)``) the chain rule gives, for
every sample i,

    ∂ℓ_i/∂W_l = δ_{l,i} a_{l,i}ᵀ,   ∂ℓ_i/∂b_l = δ_{l,i},   δ_{l,i} = ∂ℓ_i/∂z_{l,i}  ``(out_l,)``.

Row i of z_l influences only ℓ_i (activations are elementwise and nothing mixes samples), so the
gradient of Σ_i ℓ_i with respect to z_l has rows δ_{l,i}: ONE batched forward pass and ONE autograd
backward to the pre-activations give every δ_l, and the per-sample gradients are outer products
written straight into the ``(chains, n, d)`` output at each parameter's flat offset. This skips
``torch.func``'s per-parameter outputs and their concatenation (one ``(n, d)`` copy) and is exact: the
same arithmetic as the generic path up to the order of floating-point operations.

Qualifying modules (checked by :func:`plan`): a bare ``nn.Linear``, or an ``nn.Sequential`` (nested
ones allowed) of exactly ``nn.Linear``, ``nn.Tanh``, ``nn.ReLU``, ``nn.Sigmoid``, ``nn.Identity``,
with no module hooks (global ``nn.Module`` hooks are not consulted), no buffers, no parametrisations, no shared layers, at least one Linear, and 2-D data
``X (n, in_features)``. Anything else returns ``None`` and the caller keeps ``torch.func``.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import accumulate

import torch
from torch import nn
from torch.func import vmap

# elementwise activations, applied functionally (so ``ReLU(inplace=True)`` cannot overwrite a z_l)
_ACTS: dict[type, Callable[[torch.Tensor], torch.Tensor]] = {
    nn.Tanh: torch.tanh,
    nn.ReLU: torch.relu,
    nn.Sigmoid: torch.sigmoid,
    nn.Identity: lambda z: z,
}


class _Linear:
    """One Linear layer's place in the flat θ: weight ``(out, in)`` row-major at ``w``, bias at ``b``."""

    __slots__ = ("w", "b", "out", "inp")

    def __init__(self, w: int, b: int | None, out: int, inp: int):
        self.w, self.b, self.out, self.inp = w, b, out, inp


def _has_hooks(m: nn.Module) -> bool:
    return any(
        getattr(m, k, None)
        for k in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    )


def _leaves(m: nn.Module, prefix: str = ""):
    """(name prefix, module) of the non-Sequential modules of ``m`` in call order; nested Sequentials flattened."""
    if type(m) is nn.Sequential:
        if _has_hooks(m):
            raise _NoPlan
        for k, c in m._modules.items():  # NOT named_children(): it skips a repeated (shared) layer
            if c is None:
                raise _NoPlan
            yield from _leaves(c, f"{prefix}{k}.")
    else:
        yield prefix, m


class _NoPlan(Exception):
    pass


def plan(model: nn.Module, names: list[str], numels: list[int], X: torch.Tensor) -> list | None:
    """The forward program of a qualifying ``model`` (see the module docstring), else ``None``.

    ``names``/``numels`` are the flat-θ layout of :class:`~sgdsde.problems.TorchModel` (the order of
    ``model.named_parameters()``). The program is a list of :class:`_Linear` and activation callables.
    """
    try:
        leaves = list(_leaves(model))
    except _NoPlan:
        return None
    if X.ndim != 2 or any(True for _ in model.buffers()):
        return None
    offsets = dict(zip(names, accumulate(numels[:-1], initial=0)))  # flat offset of each parameter
    prog: list = []
    expected: list[str] = []
    for prefix, m in leaves:
        if _has_hooks(m):
            return None
        if type(m) is nn.Linear:
            wk, bk = prefix + "weight", prefix + "bias"
            expected.append(wk)
            if m.bias is not None:
                expected.append(bk)
            if wk not in offsets or (m.bias is not None and bk not in offsets):
                return None
            prog.append(
                _Linear(
                    offsets[wk],
                    offsets[bk] if m.bias is not None else None,
                    m.out_features,
                    m.in_features,
                )
            )
        elif type(m) in _ACTS:
            if any(True for _ in m.parameters(recurse=True)):
                return None
            prog.append(_ACTS[type(m)])
        else:
            return None
    lins = [s for s in prog if isinstance(s, _Linear)]
    # the flat layout must be exactly these Linear parameters, in this order (catches shared layers,
    # parametrisations and anything else that renames or dedups parameters)
    if not lins or expected != list(names) or X.shape[1] != lins[0].inp:
        return None
    return prog


def _forward(prog: list, theta: torch.Tensor, X: torch.Tensor):
    """Batched forward for θ ``(C, d)`` (contiguous, no grad): output, Linear inputs a_l, pre-activations z_l."""
    C = theta.shape[0]
    a = X.detach()  # (n, in) shared by every chain; later (C, n, width)
    inputs: list[torch.Tensor] = []
    zs: list[torch.Tensor] = []
    for step in prog:
        if isinstance(step, _Linear):
            W = theta[:, step.w : step.w + step.out * step.inp].view(C, step.out, step.inp)
            z = torch.matmul(a, W.mT)  # (C, n, out)
            if step.b is not None:
                z = z + theta[:, step.b : step.b + step.out].unsqueeze(1)
            if not zs:
                z.requires_grad_(True)  # a leaf: everything after it is tracked
            inputs.append(a)
            zs.append(z)
            a = z
        else:
            a = step(a)
    return a, inputs, zs  # a: (C, n, out_L), since a plan has at least one Linear


def _deltas(prog, theta, X, y, loss_fn, mean: bool):
    """(Linear inputs a_l, δ_l = ∂(Σ_i ℓ_i)/∂z_l ``(C, n, out_l)``).

    With ``mean``, the δ_l of (1/n) Σ_i ℓ_i instead. ``X`` is ``(n, in)`` shared by the chains or
    ``(C, n, in)`` per chain (then ``y`` is ``(C, n, ...)``, a minibatch per chain).
    """
    with torch.enable_grad():
        out, inputs, zs = _forward(prog, theta, X)
        y_dim = 0 if X.ndim == 3 else None
        losses = vmap(vmap(loss_fn), in_dims=(0, y_dim))(out, y)  # (C, n)
        total = losses.mean(-1).sum() if mean else losses.sum()
        if total.requires_grad:
            deltas = torch.autograd.grad(total, zs, allow_unused=True)
        else:
            deltas = [None] * len(zs)
    deltas = [torch.zeros_like(z) if g is None else g for g, z in zip(deltas, zs)]
    return [a.detach() for a in inputs], deltas


def usable(theta: torch.Tensor) -> bool:
    """Whether θ may take the fast path: not differentiated through, not inside a ``torch.func`` transform
    or ``torch.inference_mode``.

    The fast path detaches θ and runs its own backward, so a θ that autograd tracks (``requires_grad``
    under grad mode, e.g. a double backward through :meth:`grad`) or a ``torch.func``-wrapped θ (vmap,
    grad, jacrev over the engine) must take the generic ``torch.func`` path instead.
    """
    if theta.requires_grad and torch.is_grad_enabled():
        return False
    if torch.is_inference_mode_enabled():  # its own backward cannot run there (it would give zeros)
        return False
    ft = getattr(torch._C, "_functorch", None)
    if ft is not None:
        if ft.is_functorch_wrapped_tensor(theta) or ft.maybe_current_level() is not None:
            return False
    return True


def per_sample_grads(
    prog: list,
    theta: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable,
    out: torch.Tensor,
) -> torch.Tensor:
    """g_i(θ) for θ ``(C, d)`` → ``(C, n, d)``, written in place into ``out`` (contiguous, C·n·d numbers)."""
    theta = theta.detach().contiguous()
    C, d = theta.shape
    n = X.shape[0]
    inputs, deltas = _deltas(prog, theta, X, y, loss_fn, mean=False)
    G = out.view(C, n, d)
    with torch.no_grad():
        for step, a, delta in zip((s for s in prog if isinstance(s, _Linear)), inputs, deltas):
            k = step.out * step.inp
            Gw = G[:, :, step.w : step.w + k].view(C, n, step.out, step.inp)
            torch.mul(delta.unsqueeze(-1), a.unsqueeze(-2), out=Gw)  # δ_l a_lᵀ per sample
            if step.b is not None:
                G[:, :, step.b : step.b + step.out].copy_(delta)
    return G


def mean_grad(
    prog: list, theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor, loss_fn: Callable
) -> torch.Tensor:
    """g_n(θ) = (1/n) Σ_i g_i(θ) for θ ``(C, d)`` → ``(C, d)``: Σ_i δ_{l,i} a_{l,i}ᵀ, one matmul per layer.

    With ``X (C, B, in)`` and ``y (C, B, ...)`` (a minibatch per chain) this is g_B per chain.
    """
    theta = theta.detach().contiguous()
    C, d = theta.shape
    inputs, deltas = _deltas(prog, theta, X, y, loss_fn, mean=True)  # δ already carries the 1/n
    g = torch.empty(C, d, dtype=theta.dtype, device=theta.device)
    with torch.no_grad():
        for step, a, delta in zip((s for s in prog if isinstance(s, _Linear)), inputs, deltas):
            k = step.out * step.inp
            g[:, step.w : step.w + k].view(C, step.out, step.inp).copy_(
                delta.mT @ a
            )  # Σ_i δ_i a_iᵀ
            if step.b is not None:
                g[:, step.b : step.b + step.out].copy_(delta.sum(1))
    return g
