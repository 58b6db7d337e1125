"""The assumptions behind the SDE (notes §2.3), each measured as one impact figure (notes §2.4).

The yardstick is the stationary excess loss E[L_n(θ) − L_n(θ̂)] of SGD on least squares from the
first principal components of scikit-learn's digits to the centred label (``lin``), at batch size B
and half of SGD's mean-square stability edge (η_ref). For that model the stationary second moments
of SGD, of the SDE (23) and of its constant-Σ version are exact (:mod:`sgdsde.linear_theory`), so
most impacts are differences of exact numbers; the others are Monte Carlo means with standard
errors over independent chains.

Every impact is a function of a :class:`Config` (its ``seed`` included) and the
:class:`Yardstick` built from it, so the page on an assumption and the ranking page compute the
same number: ``impact_*(yardstick(cfg), cfg)``. :func:`measure_all` returns all of them;
:func:`network_impacts` measures four of them on a small tanh network (the second yardstick of the
ranking). Records are JSON-serialisable through :meth:`Impact.record`.
"""

from __future__ import annotations

from ._impacts import (
    MEASURES,
    impact_constant_sigma,
    impact_detailed_balance,
    impact_finite_eta,
    impact_finite_population,
    impact_finite_variance,
    impact_gaussian,
    impact_iid,
    impact_momentum,
    impact_positive_definite,
    impact_reshuffling,
    impact_schedule,
    measure_all,
    run,
)
from ._network import NET_MEASURES, NET_PROFILES, NetConfig, half_squared_error, network_impacts
from ._yardstick import (
    PROFILES,
    Config,
    Impact,
    Yardstick,
    ar1_features,
    stationary_loss,
    yardstick,
)

__all__ = [
    "Config",
    "PROFILES",
    "Impact",
    "Yardstick",
    "yardstick",
    "stationary_loss",
    "impact_gaussian",
    "impact_finite_variance",
    "impact_iid",
    "impact_finite_population",
    "impact_schedule",
    "impact_finite_eta",
    "impact_reshuffling",
    "impact_momentum",
    "impact_positive_definite",
    "impact_constant_sigma",
    "impact_detailed_balance",
    "MEASURES",
    "measure_all",
    "run",
    "ar1_features",
    "NetConfig",
    "NET_PROFILES",
    "network_impacts",
    "NET_MEASURES",
    "half_squared_error",
]
