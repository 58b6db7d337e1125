"""The monotone trend of the phase diagram, as numbers a chapter asserts."""

from __future__ import annotations

import math

from ..record import Record
from ..wells import DoubleWell, gaussian_mean_exit_time

__all__ = ["check_trend", "kramers_columns"]


def _steps(L, S, idx):
    """z-scores of the adjacent steps and of the end-to-end change of log-ratios along ``idx``.

    An infinite (censored: no Gaussian chain escaped) later entry counts as an increase; two
    censored entries are not comparable and are skipped."""
    zs = []
    for a, b in zip(idx, idx[1:]):
        zs.append(_z(L, S, a, b))
    return [z for z in zs if not math.isnan(z)], _z(L, S, idx[0], idx[-1])


def _z(L, S, a, b) -> float:
    la, lb = L[a], L[b]
    if math.isinf(la) and math.isinf(lb):
        return math.nan
    if math.isinf(lb):
        return math.inf
    if math.isinf(la):
        return -math.inf
    return (lb - la) / math.hypot(S[a], S[b])


def kramers_columns(record: Record, *, log_ratio: float = 1.5) -> list[int]:
    """Batch sizes B of the record at which the Gaussian SDE is in its Kramers regime over the
    depth range: its exact mean first-passage time (a double integral, no simulation) grows by
    at least e^``log_ratio`` from the lowest to the highest barrier.

    Examples
    --------
    >>> r = Record("escape_phase", {}, {"depths": [0.25, 1.0], "batches": [1, 4], "lr": 0.05,
    ...            "sigma2": 28.0}, seed=0)
    >>> kramers_columns(r)
    [4]
    """
    res = record.results
    h0, h1, eta, s2 = min(res["depths"]), max(res["depths"]), res["lr"], res["sigma2"]
    out = []
    for B in res["batches"]:
        eps = math.sqrt(eta * s2 / B)
        t0 = gaussian_mean_exit_time(DoubleWell(h0), eps)
        t1 = gaussian_mean_exit_time(DoubleWell(h1), eps)
        if math.log(t1 / t0) >= log_ratio:
            out.append(int(B))
    return out


def check_trend(record: Record, *, k: float = 5.0) -> dict:
    """Does τ_G/τ_SGD grow with B/η (at every h) and with h (where the Gaussian is in Kramers'
    regime)? With the delta-method SEs of the log-ratios (cells treated as independent; they
    share seeds, which correlates them positively and makes the SEs of differences conservative):

    * ``b_min_step_z``: the smallest z of an adjacent step along B over all rows h (monotone
      within tolerance when > −k), ``b_end_z``: per h, the z of the change from the smallest to the
      largest B (a detected increase when > k);
    * ``h_columns``: the Kramers batch sizes (:func:`kramers_columns`); ``h_min_step_z`` and
      ``h_end_z`` the same along h in those columns;
    * ``checks``: how many one-sided step checks there are (for the false-failure odds);
    * ``holds``: every step z > −k and every end-to-end z > k, along both axes.

    Examples
    --------
    >>> res = {"depths": [0.25, 1.0], "batches": [1, 4], "lr": 0.05, "sigma2": 28.0,
    ...        "ratio_gauss_sgd": [[0.3, 0.7], [0.3, 10.0]],
    ...        "se_log_ratio_gauss_sgd": [[0.05, 0.05], [0.05, 0.1]]}
    >>> c = check_trend(Record("escape_phase", {}, res, seed=0))
    >>> c["h_columns"], c["holds"], round(c["b_end_z"][0], 1)
    ([4], True, 12.0)
    """
    res = record.results
    R, S = res["ratio_gauss_sgd"], res["se_log_ratio_gauss_sgd"]
    H, Bs = res["depths"], res["batches"]
    L = {(i, j): math.log(R[i][j]) for i in range(len(H)) for j in range(len(Bs))}
    SE = {(i, j): S[i][j] for i in range(len(H)) for j in range(len(Bs))}
    b_steps, b_end = [], []
    for i in range(len(H)):
        st, end = _steps(L, SE, [(i, j) for j in range(len(Bs))])
        b_steps += st
        b_end.append(end)
    cols = kramers_columns(record)
    h_steps, h_end = [], []
    for B in cols:
        j = Bs.index(B)
        st, end = _steps(L, SE, [(i, j) for i in range(len(H))])
        h_steps += st
        h_end.append(end)
    steps = b_steps + h_steps
    return {
        "b_min_step_z": min(b_steps, default=math.inf),
        "b_end_z": b_end,
        "h_columns": cols,
        "h_min_step_z": min(h_steps, default=math.inf),
        "h_end_z": h_end,
        "checks": len(steps),
        "holds": bool(
            all(z > -k for z in steps) and all(z > k for z in b_end + h_end) and len(cols) > 0
        ),
    }
