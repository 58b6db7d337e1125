"""The models of the grokking experiment: an embedding MLP and Nanda et al.'s one-layer transformer."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from ._config import GrokConfig

__all__ = ["ModAddMLP", "OneLayerTransformer", "build_model"]


class ModAddMLP(nn.Module):
    """Embed a and b (one shared table ``(p, d_embed)``), concatenate, ReLU hidden layer, p logits.

    Examples
    --------
    >>> m = ModAddMLP(7, d_embed=4, hidden=8)
    >>> m(torch.tensor([[1, 2], [3, 4]])).shape
    torch.Size([2, 7])
    """

    def __init__(self, p: int, d_embed: int = 32, hidden: int = 128, activation: str = "relu"):
        super().__init__()
        if activation not in ("relu", "quadratic"):
            raise ValueError(f"activation must be 'relu' or 'quadratic'; got {activation!r}")
        self.activation = activation
        self.embed = nn.Embedding(p, d_embed)
        self.hidden = nn.Linear(2 * d_embed, hidden)
        self.out = nn.Linear(hidden, p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.hidden(self.embed(x).flatten(-2))  # (..., hidden)
        h = torch.relu(h) if self.activation == "relu" else h * h
        return self.out(h)


class OneLayerTransformer(nn.Module):
    """Nanda et al.'s (2023) one-layer transformer for modular addition (no LayerNorm).

    Tokens (a, b, "=") with vocabulary p + 1; W_E, W_pos ~ N(0, 1/d_model); attention with
    ``n_heads`` heads of size d_model/n_heads, W_Q, W_K, W_V, W_O ~ N(0, 1/d_model), causal mask,
    scores scaled by 1/√d_head; ReLU MLP of width ``d_mlp`` (W_in, W_out ~ N(0, 1/d_model), zero
    biases); unembedding W_U ~ N(0, 1/(p + 1)). The output is the logits at the last position
    over the p + 1 tokens.

    Examples
    --------
    >>> m = OneLayerTransformer(7, d_model=8, n_heads=2, d_mlp=16)
    >>> m(torch.tensor([[1, 2, 7]])).shape
    torch.Size([1, 8])
    """

    mask: torch.Tensor  # a buffer (register_buffer in __init__)

    def __init__(
        self, p: int, d_model: int = 128, n_heads: int = 4, d_mlp: int = 512, n_ctx: int = 3
    ):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        V, D, H, dh = p + 1, d_model, n_heads, d_model // n_heads
        r = 1.0 / math.sqrt(D)
        self.n_heads, self.d_head = H, dh
        self.W_E = nn.Parameter(torch.randn(D, V) * r)
        self.W_pos = nn.Parameter(torch.randn(n_ctx, D) * r)
        self.W_Q = nn.Parameter(torch.randn(H, dh, D) * r)
        self.W_K = nn.Parameter(torch.randn(H, dh, D) * r)
        self.W_V = nn.Parameter(torch.randn(H, dh, D) * r)
        self.W_O = nn.Parameter(torch.randn(D, H * dh) * r)
        self.W_in = nn.Parameter(torch.randn(d_mlp, D) * r)
        self.b_in = nn.Parameter(torch.zeros(d_mlp))
        self.W_out = nn.Parameter(torch.randn(D, d_mlp) * r)
        self.b_out = nn.Parameter(torch.zeros(D))
        self.W_U = nn.Parameter(torch.randn(D, V) / math.sqrt(V))
        self.register_buffer(
            "mask", torch.tril(torch.ones(n_ctx, n_ctx, dtype=torch.bool)), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.shape[-1]
        h = self.W_E.T[x] + self.W_pos[:T]  # (..., T, D)
        q = torch.einsum("ihd,...pd->...iph", self.W_Q, h)
        k = torch.einsum("ihd,...pd->...iph", self.W_K, h)
        v = torch.einsum("ihd,...pd->...iph", self.W_V, h)
        s = torch.einsum("...iqh,...iph->...iqp", q, k) / math.sqrt(self.d_head)
        s = s.masked_fill(~self.mask[:T, :T], float("-inf"))
        z = torch.einsum("...iqp,...iph->...iqh", torch.softmax(s, -1), v)  # (..., H, T, dh)
        z = z.transpose(-3, -2).flatten(-2)  # (..., T, H dh)
        h = h + z @ self.W_O.T
        m = torch.relu(h @ self.W_in.T + self.b_in)
        h = h + m @ self.W_out.T + self.b_out
        return h[..., -1, :] @ self.W_U


def build_model(cfg: GrokConfig) -> nn.Module:
    """The model of ``cfg`` (float32, CPU), initialised under ``torch.manual_seed(cfg.seed)``.

    Examples
    --------
    >>> from sgdsde.experiments.grokking import CONFIGS
    >>> sum(p.numel() for p in build_model(CONFIGS["nanda"]).parameters())
    226816
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        if cfg.model == "mlp":
            m = ModAddMLP(cfg.p, cfg.d_embed, cfg.hidden, cfg.activation)
            if cfg.embed_std is not None:
                with torch.no_grad():
                    m.embed.weight.normal_(0.0, cfg.embed_std)
            return m
        if cfg.model == "transformer":
            return OneLayerTransformer(cfg.p, cfg.d_model, cfg.n_heads, cfg.d_mlp)
    raise ValueError(f"model must be 'mlp' or 'transformer'; got {cfg.model!r}")


def _ce(logits: torch.Tensor, y: torch.Tensor, f64: bool) -> torch.Tensor:
    lg = logits.to(torch.float64) if f64 else logits
    return (torch.logsumexp(lg, -1) - lg.gather(-1, y.unsqueeze(-1)).squeeze(-1)).mean()
