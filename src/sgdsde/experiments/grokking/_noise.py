"""Gradient-noise statistics of a model at its current parameters (per-sample gradients)."""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from ...levy import tail_index_mohammadi
from ._models import _ce

__all__ = ["noise_statistics"]


def noise_statistics(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int,
    draws: int,
    k: int,
    generator: torch.Generator,
    pooled: int = 65536,
) -> dict:
    """Gradient-noise statistics at the model's current parameters from the examples (x, y).

    G ``(m, d)`` = per-sample gradients of the cross-entropy (``torch.func``), ḡ their mean,
    C = G − ḡ, Σ = CᵀC/m. Returns floats (lists for the eigenvalues):

    * ``sigma_eigs``: the top-k eigenvalues of Σ (from the m×m Gram matrix CCᵀ/m), ``sigma_trace``
      (tr Σ), ``sigma_eff_rank`` ((Σλ)²/Σλ²), ``grad_norm`` (‖ḡ‖);
    * the tail index of the minibatch noise ξ = ḡ − g_B for ``draws`` batches of ``batch_size``
      drawn with replacement: ``alpha_norm`` — Mohammadi's estimator on the Euclidean norms of the
      noise vectors; ``alpha_coord`` — on ``pooled`` coordinates ξ_jc drawn at random from all
      (draw, coordinate) pairs, as Şimşekli et al. (2019) pool coordinates (exact zeros, i.e.
      coordinates without noise, dropped); ``alpha_coord_std`` —
      the same after dividing each coordinate by its own standard deviation across the draws (a
      pooled sample of coordinates with different scales looks heavy-tailed even when every
      coordinate is Gaussian; this removes that scale mixture);
    * ``zero_frac`` — the fraction of the pooled coordinates that are exactly zero (dropped from
      ``alpha_coord``: each zero would drag the block-sum estimator down by itself), and
      ``sd_decades`` — log₁₀ of the ratio of the largest to the smallest non-zero per-coordinate
      standard deviation (how wide the scale mixture is).

    Examples
    --------
    >>> from sgdsde.experiments.grokking import GrokConfig, build_model, modular_addition_data
    >>> cfg = GrokConfig(p=5, d_embed=4, hidden=8)
    >>> model = build_model(cfg)
    >>> x, y, _, _ = modular_addition_data(5, 0.6)
    >>> st = noise_statistics(model, x, y, batch_size=4, draws=64, k=3, generator=torch.Generator().manual_seed(0))
    >>> len(st["sigma_eigs"]), st["sigma_trace"] >= st["sigma_eigs"][0] > 0
    (3, True)
    """
    params = {n_: p_.detach() for n_, p_ in model.named_parameters()}
    buffers = {n_: b_ for n_, b_ in model.named_buffers()}

    def loss1(pr, xi, yi):
        out = functional_call(model, (pr, buffers), (xi.unsqueeze(0),))
        return _ce(out, yi.unsqueeze(0), False)

    g = vmap(grad(loss1), in_dims=(None, 0, 0))(params, x, y)
    G = torch.cat([g[n_].reshape(x.shape[0], -1) for n_ in params], 1)
    m = G.shape[0]
    gbar = G.mean(0)
    C = G - gbar
    C64 = C.to(torch.float64)
    lam = torch.linalg.eigvalsh(C64 @ C64.T / m).flip(0).clamp(min=0)
    idx = torch.randint(m, (draws, batch_size), generator=generator, device=G.device)
    S = torch.zeros(draws, m, dtype=G.dtype, device=G.device)
    S.scatter_add_(1, idx, torch.full(idx.shape, 1.0 / batch_size, dtype=G.dtype, device=G.device))
    xi = -(S @ C)  # ḡ − g_B, (draws, d)
    a_norm = tail_index_mohammadi(xi.to(torch.float64))
    flat = torch.randint(xi.numel(), (pooled,), generator=generator, device=G.device)
    sd = xi.std(0, keepdim=True)
    keep = (sd > 0).expand_as(xi).reshape(-1)[flat]
    z = (xi / torch.where(sd > 0, sd, torch.ones_like(sd))).reshape(-1)[flat][keep]
    raw = xi.reshape(-1)[flat]
    a_coord = tail_index_mohammadi(raw.to(torch.float64), drop_zeros=True)
    live_sd = sd[sd > 0]
    decades = float(torch.log10(live_sd.max() / live_sd.min())) if live_sd.numel() else 0.0
    a_std = (
        tail_index_mohammadi(z.to(torch.float64)) if z.numel() >= 16 else torch.tensor(float("nan"))
    )
    tr = lam.sum()
    return {
        "sigma_eigs": lam[:k].tolist(),
        "sigma_trace": float(tr),
        "sigma_eff_rank": float(tr**2 / (lam**2).sum()) if float(tr) > 0 else 0.0,
        "grad_norm": float(gbar.norm()),
        "alpha_norm": float(a_norm),
        "alpha_coord": float(a_coord),
        "alpha_coord_std": float(a_std),
        "zero_frac": float((raw == 0).double().mean()),
        "sd_decades": decades,
    }
