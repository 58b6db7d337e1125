"""The training loop with noise tracking, the run → Record entry point, summaries and checks."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import torch

from ..record import Record, make_record, resolve_device
from ._config import PROFILES, GrokConfig
from ._data import modular_addition_data
from ._models import _ce, build_model
from ._noise import noise_statistics

__all__ = ["train", "run", "summarize", "check_grokking", "load_run"]


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
    """Train ``cfg`` (a :class:`GrokConfig` or a profile name) and return its history as a dict.

    :func:`run` wraps this into a :class:`~sgdsde.experiments.record.Record`.

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
        if cfg not in PROFILES:
            raise ValueError(f"unknown config {cfg!r}; choose one of {sorted(PROFILES)}")
        cfg = PROFILES[cfg]
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
    device = resolve_device(device)
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


def summarize(record: dict | Record, *, acc: float = 0.99, loss: float = 1.0) -> dict:
    """Milestones of a run: first logged step with train accuracy ≥ ``acc`` (``t_train``), with test
    accuracy ≥ ``acc`` (``t_test``), with test loss < ``loss`` (``t_test_loss``), and the gap
    ``t_test − t_train`` (None where not reached). ``record``: a dict from :func:`train` (or an
    older recorded JSON) or a :class:`~sgdsde.experiments.record.Record` from :func:`run`.

    Examples
    --------
    >>> rec = {"history": {"step": [0, 10, 20, 30], "train_acc": [0.1, 1.0, 1.0, 1.0],
    ...                    "test_acc": [0.0, 0.1, 0.5, 1.0], "test_loss": [5.0, 4.0, 0.9, 0.1]}}
    >>> summarize(rec)
    {'t_train': 10, 't_test': 30, 't_test_loss': 20, 'gap': 20}
    """
    h = record.results["history"] if isinstance(record, Record) else record["history"]
    tt = _first(h["step"], h["train_acc"], lambda v: v >= acc)
    te = _first(h["step"], h["test_acc"], lambda v: v >= acc)
    tl = _first(h["step"], h["test_loss"], lambda v: v < loss)
    return {
        "t_train": tt,
        "t_test": te,
        "t_test_loss": tl,
        "gap": (te - tt) if (te is not None and tt is not None) else None,
    }


def run(config: GrokConfig, *, device=None, progress: bool | None = None) -> Record:
    """Train ``config`` (float32) and return a :class:`~sgdsde.experiments.record.Record` whose
    ``results`` hold ``history`` (see :func:`train`), ``summary`` (:func:`summarize`),
    ``steps_run``, ``n_params``, ``n_train``, ``n_test`` and ``dtype``.

    Examples
    --------
    >>> cfg = GrokConfig.profile("ci", steps=20, log_every=10, noise_every=10, noise_samples=32,
    ...                          noise_draws=32)
    >>> rec = run(cfg)
    >>> rec.results["history"]["step"], rec.experiment, rec.device
    ([0, 10, 20], 'grokking', 'cpu')
    """
    if not isinstance(config, GrokConfig):
        raise TypeError(f"config must be a GrokConfig; got {type(config).__name__}")
    dev = resolve_device(device)
    out = train(config, device=dev, progress=progress)
    results = {
        k: out[k] for k in ("history", "steps_run", "n_params", "n_train", "n_test", "dtype")
    }
    results["summary"] = summarize(out)
    return make_record("grokking", config, results, dev, out["wall_s"])


def check_grokking(record: dict | Record, *, acc: float = 0.99, loss: float = 1.0) -> dict:
    """Milestones of a run (:func:`summarize`) and the booleans a chapter asserts:
    ``memorised`` (train accuracy ≥ ``acc`` reached), ``grokked`` (test loss < ``loss`` reached)
    and ``delayed`` (test accuracy ≥ ``acc`` reached strictly after train accuracy).

    Examples
    --------
    >>> rec = {"history": {"step": [0, 10, 20, 30], "train_acc": [0.1, 1.0, 1.0, 1.0],
    ...                    "test_acc": [0.0, 0.1, 0.5, 1.0], "test_loss": [5.0, 4.0, 0.9, 0.1]}}
    >>> c = check_grokking(rec)
    >>> c["memorised"], c["grokked"], c["delayed"], c["gap"]
    (True, True, True, 20)
    """
    s = summarize(record, acc=acc, loss=loss)
    return {
        **s,
        "memorised": s["t_train"] is not None,
        "grokked": s["t_test_loss"] is not None,
        "delayed": s["gap"] is not None and s["gap"] > 0,
    }


def load_run(path) -> dict:
    """A recorded run as the dict of :func:`train` (``config``, ``device``, ``wall_s``,
    ``steps_run``, ``history``, ...): from a :class:`~sgdsde.experiments.record.Record` JSON written
    by ``python -m sgdsde.experiments grokking`` or from an older record (the dict itself).

    Examples
    --------
    >>> import tempfile, os
    >>> cfg = GrokConfig.profile("ci", steps=2, log_every=1, noise_every=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "r.json")
    ...     _ = run(cfg).to_json(p)
    ...     r = load_run(p)
    >>> r["history"]["step"], r["config"]["steps"], r["device"]
    ([0, 1, 2], 2, 'cpu')
    """
    import json

    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    if "results" in d and "experiment" in d:
        rec = Record.from_json(json.dumps(d))
        return {
            **rec.results,
            "config": rec.config,
            "device": rec.device,
            "wall_s": rec.wall_s,
            "torch": rec.torch_version,
            "git_commit": rec.git_commit,
        }
    return d
