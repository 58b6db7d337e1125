"""The numbers the edge-of-stability chapter asserts, from a run's results."""

from __future__ import annotations

import math

import torch

__all__ = ["eos_ratios", "central_flow_agreement", "moving_average"]


def _t(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


def moving_average(x, window: int) -> torch.Tensor:
    """Centred moving average over ``window`` (odd → symmetric; the ends use what exists).

    Examples
    --------
    >>> moving_average([1.0, 3.0, 1.0, 3.0, 1.0], 3).tolist()
    [2.0, 1.6666666666666667, 2.3333333333333335, 1.6666666666666667, 2.0]
    """
    x = _t(x)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be an int >= 1; got {window!r}")
    c = torch.cat([x.new_zeros(1), x.cumsum(0)])
    i = torch.arange(x.shape[0])
    lo = (i - (window - 1) // 2).clamp_min(0)
    hi = (i + window // 2 + 1).clamp_max(x.shape[0])
    return (c[hi] - c[lo]) / (hi - lo)


def eos_ratios(entry: dict, late: float = 0.5, batches: int = 10) -> dict:
    """Statistics of r = S·η/(2 + 2μ) (sharpness over the stability threshold) of one GD run.

    ``entry``: one of ``results["gd"]`` or ``results["momentum"]`` (``lr``, ``momentum``,
    ``step``, ``sharpness``). The late window is the records with step ≥ ``late``·(last step).

    Returns
    -------
    dict with ``r`` (the whole series), ``r0`` (at step 0), ``first_cross`` (first step with
    r ≥ 1, or −1), and over the late window: ``mean``, ``sd``, ``min``, ``max``, ``n`` and ``se``
    (the standard error of the mean from ``batches`` batch means, robust to the
    autocorrelation of the series).

    Examples
    --------
    >>> e = {"lr": 0.5, "momentum": 0.0, "step": list(range(0, 100, 10)),
    ...      "sharpness": [2.0, 3.0] + [4.0] * 8}
    >>> s = eos_ratios(e, batches=2)
    >>> s["r0"], s["mean"], s["first_cross"]
    (0.5, 1.0, 20)
    """
    if not 0 <= late < 1:
        raise ValueError(f"late must be in [0, 1); got {late!r}")
    step = _t(entry["step"])
    r = _t(entry["sharpness"]) * float(entry["lr"]) / (2 + 2 * float(entry["momentum"]))
    w = r[step >= late * float(step[-1])]
    n = w.shape[0]
    nb = max(2, min(batches, n // 2))
    bm = torch.stack([c.mean() for c in torch.tensor_split(w, nb)])
    crossed = (r >= 1).nonzero()
    return {
        "r": r,
        "r0": float(r[0]),
        "first_cross": int(step[crossed[0, 0]]) if crossed.numel() else -1,
        "mean": float(w.mean()),
        "sd": float(w.std()) if n > 1 else 0.0,
        "min": float(w.min()),
        "max": float(w.max()),
        "n": n,
        "se": float(bm.std() / math.sqrt(nb)),
    }


def central_flow_agreement(central: dict, skip: int = 20, window: int = 10) -> dict:
    """Central flow against GD over the phase where the constraint is active.

    ``central``: ``results["central"]``. The active phase starts at the first t with σ² > 0
    (``onset``); the comparison window starts ``skip`` GD steps later (the transient). GD's
    loss is averaged over ``window`` steps (centred) before it is compared with the flow's
    predicted time-averaged loss L + ½σ²S.

    Returns
    -------
    dict: ``onset`` (−1 if never active), ``t0`` (window start), ``loss_rel_err`` (mean over the
    window of |predicted − averaged GD| / averaged GD), ``loss_rel_err_max``, ``gf_loss_rel_err``
    (the same for gradient flow's loss), ``cf_sharpness_dev`` (max |S·η/2 − 1| of the flow where σ² > 0 in the window),
    ``dist_cf``, ``dist_cf_avg``, ``dist_gf`` (means over the window), ``gd_move`` (mean
    ‖w_GD(t) − w_GD(0)‖ there, the scale), and the same distances at the last time (``*_end``).

    Examples
    --------
    >>> c = {"lr": 1.0, "t": [0.0, 1.0, 2.0, 3.0], "sigma2": [0.0, 0.1, 0.1, 0.1],
    ...      "sharpness": [1.0, 2.0, 2.0, 2.0], "predicted_loss": [1.0, 1.0, 1.0, 1.0],
    ...      "loss": [1.0, 0.9, 0.9, 0.9], "gf_loss": [1.0, 0.8, 0.7, 0.6],
    ...      "gd_loss": [1.0, 1.0, 1.0, 1.0, 1.0], "dist_cf": [0.0, 0.1, 0.1, 0.1],
    ...      "dist_cf_avg": [0.0, 0.0, 0.0, 0.0], "dist_gf": [0.0, 0.2, 0.4, 0.6],
    ...      "gd_move": [0.0, 1.0, 1.0, 1.0]}
    >>> a = central_flow_agreement(c, skip=1, window=1)
    >>> a["onset"], a["loss_rel_err"], a["cf_sharpness_dev"]
    (1, 0.0, 0.0)
    """
    t = _t(central["t"])
    s2 = _t(central["sigma2"])
    on = (s2 > 0).nonzero()
    onset = int(t[on[0, 0]]) if on.numel() else -1
    t0 = (onset if onset >= 0 else 0) + skip
    m = t >= t0
    if not bool(m.any()):
        raise ValueError(f"no time after onset + skip = {t0}; run longer or lower skip")
    T = t.shape[0]
    gd_avg = moving_average(_t(central["gd_loss"]), window)[:T]
    pred, gfl = _t(central["predicted_loss"]), _t(central["gf_loss"])
    err = ((pred - gd_avg).abs() / gd_avg)[m]
    S = _t(central["sharpness"])
    act = (s2 > 0) & m  # on the constraint, after the arrival transient
    out = {
        "onset": onset,
        "t0": t0,
        "loss_rel_err": float(err.mean()),
        "loss_rel_err_max": float(err.max()),
        "gf_loss_rel_err": float(((gfl - gd_avg).abs() / gd_avg)[m].mean()),
        "cf_sharpness_dev": float((S[act] * float(central["lr"]) / 2 - 1).abs().max())
        if bool(act.any())
        else math.nan,
    }
    for k in ("dist_cf", "dist_cf_avg", "dist_gf", "gd_move"):
        if k in central:
            v = _t(central[k])
            out[k] = float(v[m].mean())
            out[k + "_end"] = float(v[-1])
    return out
