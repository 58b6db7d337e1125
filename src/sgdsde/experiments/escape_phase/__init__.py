"""A phase diagram of escape times over barrier height × η/B, run as a sweep (notes §4).

The double well and the three dynamics of :mod:`sgdsde.experiments.wells` (SGD on heavy-tailed
data, the Gaussian SDE of equal covariance, the α-stable SDE fitted to SGD's noise), one cell per
(h, B) at a fixed step η. A one-cell :class:`Config` runs in one process; a grid runs as a sweep
of its one-cell configs (:mod:`sgdsde.experiments.sweep`: a local pool or a Dask cluster) and is
gathered into one :class:`~sgdsde.experiments.record.Record`. :func:`check_trend` tests the
trend theory predicts: τ_G/τ_SGD grows with B/η (Gaussian diffusion time ∝ B, and exponential in
hB/(ησ²) by Kramers' law; SGD's heavy-tailed escape ∝ B^{α−1}) and with h where the Gaussian SDE
is in its Kramers regime (SGD's escape hardly depends on h).

Layout: ``_experiment`` (``Config`` → :func:`run` → ``Record``), ``_checks``.
"""

from __future__ import annotations

from ._checks import check_trend, kramers_columns
from ._experiment import METHODS, PROFILES, Config, run

__all__ = ["Config", "PROFILES", "METHODS", "run", "check_trend", "kramers_columns"]
