"""Grokking on modular addition, with the gradient noise tracked through training (notes §4).

Task: predict (a + b) mod p from the pair (a, b); a fraction ``frac_train`` of the p² pairs is the
training set, the rest the test set. Models:

* :class:`ModAddMLP` — embeddings of a and b (shared table), concatenated, one ReLU hidden layer,
  p logits: small enough to grok on a CPU in seconds;
* :class:`OneLayerTransformer` — the model of Nanda et al. (2023): tokens (a, b, "="), learned
  positional embeddings, one attention layer (4 heads, causal mask) and one ReLU MLP, no LayerNorm,
  read-out at the last position over p + 1 classes; their initialisation (N(0, 1/d_model) etc.).

:func:`train` runs full-batch or minibatch AdamW / SGD with everything on one device, logs train /
test loss and accuracy every ``log_every`` steps (the only host synchronisations) and, every
``noise_every`` steps, the gradient-noise statistics at the current θ from the per-sample gradients
G ``(m, d)`` of a fixed subsample of m training examples (``torch.func``):

* the spectrum of Σ_emp = (1/m) Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ (top eigenvalues from the m×m Gram
  matrix, and its trace);
* the tail index of the minibatch noise ξ = ḡ − g_B at batch size ``noise_batch``: Mohammadi's
  estimator on the norms of R noise vectors (``alpha_norm``) and on their pooled coordinates as in
  Şimşekli et al. (2019) (``alpha_coord``).

Command line (the GPU run of the chapter)::

    python -m sgdsde.experiments.grokking --config nanda --device cuda --out chapters/data/grokking_nanda_h100.json

writes a JSON file with the configuration, the device name, the wall time and the whole history.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from ..levy import tail_index_mohammadi

__all__ = [
    "modular_addition_data",
    "ModAddMLP",
    "OneLayerTransformer",
    "GrokConfig",
    "CONFIGS",
    "build_model",
    "noise_statistics",
    "train",
    "summarize",
    "main",
]


def modular_addition_data(
    p: int, frac_train: float, *, seed: int = 0, with_equals: bool = False, device=None
):
    """The p² pairs (a, b) with labels (a + b) mod p, split as in Nanda et al.'s code.

    The pairs are listed a-major, shuffled by Python's ``random.seed(seed); random.shuffle`` and the
    first ⌊frac_train·p²⌋ form the training set (this reproduces the authors' split for
    ``seed=0``).

    Parameters
    ----------
    p : int ≥ 2
    frac_train : float in (0, 1)
    seed : int
    with_equals : bool; if True the inputs are the token triples (a, b, p) ("=" is token p)
    device : of the returned tensors

    Returns
    -------
    x_train, y_train, x_test, y_test : LongTensors; x ``(N, 2)`` or ``(N, 3)``, y ``(N,)``

    Examples
    --------
    >>> xtr, ytr, xte, yte = modular_addition_data(7, 0.5)
    >>> xtr.shape, xte.shape, bool(((xtr[:, 0] + xtr[:, 1]) % 7 == ytr).all())
    (torch.Size([24, 2]), torch.Size([25, 2]), True)
    """
    if isinstance(p, bool) or not isinstance(p, int) or p < 2:
        raise ValueError(f"p must be an int >= 2; got {p!r}")
    if not (isinstance(frac_train, (int, float)) and 0 < frac_train < 1):
        raise ValueError(f"frac_train must be in (0, 1); got {frac_train!r}")
    pairs = [(i, j, p) for i in range(p) for j in range(p)]
    random.Random(seed).shuffle(
        pairs
    )  # = random.seed(seed); random.shuffle(pairs), without global state
    div = int(frac_train * len(pairs))
    if div < 1 or div >= len(pairs):
        raise ValueError(f"frac_train={frac_train} leaves an empty train or test set for p={p}")
    t = torch.tensor(pairs, dtype=torch.long)
    x = t if with_equals else t[:, :2]
    y = (t[:, 0] + t[:, 1]) % p
    return x[:div].to(device), y[:div].to(device), x[div:].to(device), y[div:].to(device)


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


@dataclass
class GrokConfig:
    """Settings of one grokking run (see :data:`CONFIGS` for the named ones).

    ``steps`` counts optimiser steps (= epochs for full batch); ``batch_size=None`` is full batch;
    ``optimizer`` is ``"adamw"`` (``betas``, decoupled ``weight_decay``) or ``"sgd"`` (``momentum``,
    L2 ``weight_decay``); ``warmup`` linear learning-rate warm-up steps. Noise statistics use a fixed
    subsample of ``noise_samples`` training examples, batches of ``noise_batch`` and
    ``noise_draws`` noise vectors, every ``noise_every`` steps (0 = never). ``stop_test_loss``: stop
    at the first log step whose test loss is below it (None = run all ``steps``).

    Examples
    --------
    >>> cfg = GrokConfig(p=7, steps=5)
    >>> cfg.model, cfg.batch_size is None, CONFIGS["nanda"].p
    ('mlp', True, 113)
    """

    name: str = "cpu"
    p: int = 23
    frac_train: float = 0.5
    model: str = "mlp"
    d_embed: int = 32
    hidden: int = 128
    activation: str = "quadratic"
    embed_std: float | None = None
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    optimizer: str = "adamw"
    lr: float = 1e-2
    weight_decay: float = 1.0
    betas: tuple = (0.9, 0.98)
    momentum: float = 0.0
    batch_size: int | None = None
    steps: int = 1500
    warmup: int = 10
    log_every: int = 25
    noise_every: int = 100
    noise_samples: int = 128
    noise_batch: int = 16
    noise_draws: int = 256
    eig_k: int = 8
    seed: int = 0
    data_seed: int = 0
    loss_float64: bool = True
    stop_test_loss: float | None = None


#: Named configurations. ``cpu``: an MLP (quadratic activation, Gromov-style) on p = 23 with half
#: the pairs for training; it memorises in ~25 full-batch AdamW steps and groks after ~1000. ``nanda``: Nanda et al. (2023) — p = 113, one-layer transformer d = 128,
#: 4 heads, MLP 512, full-batch AdamW (lr 1e-3, wd 1, betas 0.9/0.98), 30 % training pairs.
CONFIGS: dict[str, GrokConfig] = {
    "cpu": GrokConfig(),
    "cpu_minibatch": GrokConfig(name="cpu_minibatch", batch_size=32),
    "nanda": GrokConfig(
        name="nanda",
        p=113,
        frac_train=0.3,
        model="transformer",
        activation="relu",
        lr=1e-3,
        weight_decay=1.0,
        betas=(0.9, 0.98),
        steps=10000,
        log_every=100,
        noise_every=500,
        noise_samples=256,
        noise_batch=64,
        noise_draws=256,
        eig_k=16,
    ),
}
# The same run with minibatches of 512 (the SGD variant of the recorded GPU run).
CONFIGS["nanda_minibatch"] = dataclasses.replace(
    CONFIGS["nanda"], name="nanda_minibatch", batch_size=512
)


def build_model(cfg: GrokConfig) -> nn.Module:
    """The model of ``cfg`` (float32, CPU), initialised under ``torch.manual_seed(cfg.seed)``.

    Examples
    --------
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


@dataclass
class _History:
    step: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    weight_norm: list = field(default_factory=list)
    noise_step: list = field(default_factory=list)
    sigma_eigs: list = field(default_factory=list)
    sigma_trace: list = field(default_factory=list)
    sigma_eff_rank: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    alpha_norm: list = field(default_factory=list)
    alpha_coord: list = field(default_factory=list)
    alpha_coord_std: list = field(default_factory=list)
    zero_frac: list = field(default_factory=list)
    sd_decades: list = field(default_factory=list)


def train(
    cfg: GrokConfig | str,
    *,
    device=None,
    dtype: torch.dtype = torch.float32,
    progress: bool | None = None,
    **overrides,
) -> dict:
    """Train ``cfg`` (a :class:`GrokConfig` or a name in :data:`CONFIGS`) and return its record.

    Parameters
    ----------
    cfg : GrokConfig or str
    device : torch device (default CPU); dtype : parameter dtype (default float32)
    progress : bool, optional (tqdm; default follows ``TQDM_DISABLE``)
    **overrides : fields of :class:`GrokConfig` to replace (e.g. ``steps=500``)

    Returns
    -------
    dict with ``config`` (dict), ``device`` (``torch.cuda.get_device_name()`` on CUDA, else
    ``"cpu"``), ``dtype``, ``wall_s``, ``n_params``, ``n_train``, ``n_test`` and ``history``
    (lists: ``step``, ``train_loss``, ``test_loss``, ``train_acc``, ``test_acc``, ``weight_norm``;
    at ``noise_step``: ``sigma_eigs``, ``sigma_trace``, ``sigma_eff_rank``, ``grad_norm``,
    ``alpha_norm``, ``alpha_coord``, ``alpha_coord_std``, ``zero_frac``, ``sd_decades``, see
    :func:`noise_statistics`).

    Raises
    ------
    FloatingPointError
        If the training loss becomes non-finite (checked at every log step).

    Examples
    --------
    >>> rec = train("cpu", steps=20, log_every=10, noise_every=10, noise_samples=32, noise_draws=32)
    >>> rec["history"]["step"], len(rec["history"]["alpha_norm"])
    ([0, 10, 20], 3)
    """
    if isinstance(cfg, str):
        if cfg not in CONFIGS:
            raise ValueError(f"unknown config {cfg!r}; choose one of {sorted(CONFIGS)}")
        cfg = CONFIGS[cfg]
    if not isinstance(cfg, GrokConfig):
        raise TypeError(f"cfg must be a GrokConfig or a name; got {type(cfg).__name__}")
    bad = set(overrides) - {f.name for f in dataclasses.fields(GrokConfig)}
    if bad:
        raise ValueError(f"unknown GrokConfig fields {sorted(bad)}")
    cfg = dataclasses.replace(cfg, **overrides)
    if cfg.optimizer not in ("adamw", "sgd"):
        raise ValueError(f"optimizer must be 'adamw' or 'sgd'; got {cfg.optimizer!r}")
    for name in ("steps", "log_every"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be >= 1; got {getattr(cfg, name)}")
    device = torch.device(device) if device is not None else torch.device("cpu")
    with_eq = cfg.model == "transformer"
    xtr, ytr, xte, yte = modular_addition_data(
        cfg.p, cfg.frac_train, seed=cfg.data_seed, with_equals=with_eq, device=device
    )
    model = build_model(cfg).to(device=device, dtype=dtype)
    params = list(model.parameters())
    opt: torch.optim.Optimizer
    if cfg.optimizer == "adamw":
        kw = {"fused": True} if device.type == "cuda" else {"foreach": True}
        opt = torch.optim.AdamW(
            params, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=tuple(cfg.betas), **kw
        )
    else:
        opt = torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, foreach=True
        )
    # Nanda et al.'s warm-up: lr·min(step/warmup, 1) (so the very first step has lr 0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(s / cfg.warmup, 1.0) if cfg.warmup > 0 else 1.0
    )
    gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    ntr = xtr.shape[0]
    B = cfg.batch_size
    if B is not None and not 1 <= B <= ntr:
        raise ValueError(f"batch_size must be in [1, n_train] = [1, {ntr}] or None; got {B}")
    sub = torch.randperm(ntr, generator=gen, device=device)[: min(cfg.noise_samples, ntr)]
    H = _History()

    @torch.no_grad()
    def evaluate(k):
        ltr, lte = model(xtr), model(xte)
        vals = torch.stack(
            [
                _ce(ltr, ytr, cfg.loss_float64).float(),
                _ce(lte, yte, cfg.loss_float64).float(),
                (ltr.argmax(-1) == ytr).float().mean(),
                (lte.argmax(-1) == yte).float().mean(),
                torch.sqrt(sum((p_.float() ** 2).sum() for p_ in params)),
            ]
        ).tolist()
        if not math.isfinite(vals[0]):
            raise FloatingPointError(f"training loss is non-finite at step {k}; lower lr")
        H.step.append(k)
        for key, v in zip(
            ("train_loss", "test_loss", "train_acc", "test_acc", "weight_norm"), vals
        ):
            getattr(H, key).append(v)

    def noise(k):
        st = noise_statistics(
            model,
            xtr[sub],
            ytr[sub],
            batch_size=cfg.noise_batch,
            draws=cfg.noise_draws,
            k=min(cfg.eig_k, sub.numel()),
            generator=gen,
        )
        H.noise_step.append(k)
        for key in (
            "sigma_eigs",
            "sigma_trace",
            "sigma_eff_rank",
            "grad_norm",
            "alpha_norm",
            "alpha_coord",
            "alpha_coord_std",
            "zero_frac",
            "sd_decades",
        ):
            getattr(H, key).append(st[key])

    from tqdm.auto import tqdm

    bar = tqdm(
        total=cfg.steps,
        desc=f"grokking {cfg.name}",
        leave=False,
        disable=None if progress is None else not progress,
    )
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    evaluate(0)
    if cfg.noise_every:
        noise(0)
    for k in range(1, cfg.steps + 1):
        if B is None:
            xb, yb = xtr, ytr
        else:
            ib = torch.randint(ntr, (B,), generator=gen, device=device)
            xb, yb = xtr[ib], ytr[ib]
        loss = _ce(model(xb), yb, cfg.loss_float64)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if k % cfg.log_every == 0 or k == cfg.steps:
            evaluate(k)
            bar.set_postfix(
                train=f"{H.train_acc[-1]:.2f}", test=f"{H.test_acc[-1]:.2f}", refresh=False
            )
            bar.update(k - bar.n)
        if cfg.noise_every and (k % cfg.noise_every == 0 or k == cfg.steps):
            noise(k)
        if (
            cfg.stop_test_loss is not None
            and H.step[-1] == k
            and H.test_loss[-1] < cfg.stop_test_loss
        ):
            break
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    bar.close()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    cfgd = dataclasses.asdict(cfg)
    cfgd["betas"] = list(cfg.betas)
    return {
        "config": cfgd,
        "device": name,
        "dtype": str(dtype).replace("torch.", ""),
        "wall_s": wall,
        "steps_run": H.step[-1],
        "n_params": sum(p_.numel() for p_ in params),
        "n_train": ntr,
        "n_test": int(xte.shape[0]),
        "torch": torch.__version__,
        "history": dataclasses.asdict(H),
    }


def _first(steps, values, pred):
    for s, v in zip(steps, values):
        if pred(v):
            return s
    return None


def summarize(record: dict, *, acc: float = 0.99, loss: float = 1.0) -> dict:
    """Milestones of a run: first logged step with train accuracy ≥ ``acc`` (``t_train``), with test
    accuracy ≥ ``acc`` (``t_test``), with test loss < ``loss`` (``t_test_loss``), and the gap
    ``t_test − t_train`` (None where not reached).

    Examples
    --------
    >>> rec = {"history": {"step": [0, 10, 20, 30], "train_acc": [0.1, 1.0, 1.0, 1.0],
    ...                    "test_acc": [0.0, 0.1, 0.5, 1.0], "test_loss": [5.0, 4.0, 0.9, 0.1]}}
    >>> summarize(rec)
    {'t_train': 10, 't_test': 30, 't_test_loss': 20, 'gap': 20}
    """
    h = record["history"]
    tt = _first(h["step"], h["train_acc"], lambda v: v >= acc)
    te = _first(h["step"], h["test_acc"], lambda v: v >= acc)
    tl = _first(h["step"], h["test_loss"], lambda v: v < loss)
    return {
        "t_train": tt,
        "t_test": te,
        "t_test_loss": tl,
        "gap": (te - tt) if (te is not None and tt is not None) else None,
    }


def main(argv=None) -> int:
    """Command-line entry point: ``python -m sgdsde.experiments.grokking --config nanda --device cuda``.

    Flags: ``--config``, ``--device``, ``--dtype``, ``--epochs`` (optimiser steps), ``--frac``,
    ``--optimizer``, ``--lr``, ``--weight-decay``, ``--momentum``, ``--batch-size``,
    ``--full-batch``, ``--log-every``, ``--noise-every``, ``--seed``, ``--stop-test-loss``, ``--out`` (JSON),
    ``--progress``. Returns the exit status.

    Examples
    --------
    >>> main(["--config", "cpu", "--epochs", "2", "--log-every", "1", "--noise-every", "0"])  # doctest: +ELLIPSIS
    cpu on cpu: ... s for 2 steps; ...
    0
    """
    ap = argparse.ArgumentParser(
        prog="python -m sgdsde.experiments.grokking", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--config", default="cpu", choices=sorted(CONFIGS))
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument(
        "--epochs", type=int, default=None, help="optimiser steps (= epochs for full batch)"
    )
    ap.add_argument("--frac", type=float, default=None, help="fraction of pairs used for training")
    ap.add_argument("--optimizer", default=None, choices=["adamw", "sgd"])
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--weight-decay", type=float, default=None)
    ap.add_argument("--momentum", type=float, default=None)
    ap.add_argument(
        "--batch-size", type=int, default=None, help="minibatch size (default: the config's)"
    )
    ap.add_argument("--full-batch", action="store_true", help="force full batch")
    ap.add_argument("--log-every", type=int, default=None)
    ap.add_argument("--noise-every", type=int, default=None, help="0 disables the noise statistics")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument(
        "--stop-test-loss", type=float, default=None, help="stop once the test loss is below this"
    )
    ap.add_argument("--out", default=None, help="write the record as JSON here")
    ap.add_argument("--progress", action="store_true", help="show a tqdm bar")
    a = ap.parse_args(argv)
    ov = {
        k: v
        for k, v in (
            ("steps", a.epochs),
            ("frac_train", a.frac),
            ("optimizer", a.optimizer),
            ("lr", a.lr),
            ("weight_decay", a.weight_decay),
            ("momentum", a.momentum),
            ("batch_size", a.batch_size),
            ("log_every", a.log_every),
            ("noise_every", a.noise_every),
            ("seed", a.seed),
            ("stop_test_loss", a.stop_test_loss),
        )
        if v is not None
    }
    if a.full_batch:
        ov["batch_size"] = None
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda but torch.cuda.is_available() is False", file=sys.stderr)
        return 2
    rec = train(
        a.config, device=a.device, dtype=getattr(torch, a.dtype), progress=a.progress or None, **ov
    )
    s = summarize(rec)
    rec["summary"] = s
    h = rec["history"]
    print(
        f"{rec['config']['name']} on {rec['device']}: {rec['wall_s']:.1f} s for {rec['steps_run']} steps; "
        f"final train acc {h['train_acc'][-1]:.3f}, test acc {h['test_acc'][-1]:.3f}, "
        f"test loss {h['test_loss'][-1]:.3g}; milestones {s}"
    )
    if a.out:
        import os

        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w", encoding="utf-8") as f:
            json.dump(rec, f)
        print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
