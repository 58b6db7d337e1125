"""Singular learning theory: the local learning coefficient (notes §3 item 6).

* :func:`estimate_llc`: the SGLD estimator λ̂(w*) = nβ(E_β^{w*,γ}[L_n] − L_n(w*)) of Lau, Furman,
  Wang, Murfet & Wei (2023), several chains, SE across chains, divergence detection; the sampler
  is the :class:`~sgdsde.dynamics.SGLD` stepper of the dynamics core.
* Exact values to test it against: :func:`quadratic_llc` (a regular model, with the exact
  localisation and step biases), :func:`product_llc` (the singular model y = w₁w₂x) and
  :func:`dln_learning_coefficient` (deep linear networks, Aoyagi 2024).
* :func:`quartic_additive_noise`: a degenerate minimum where ∇²L_n = 0 but Σ_emp ≠ 0.

Layout: ``_llc`` (estimator, exact expectations), ``_aoyagi`` (the closed form for deep linear
networks), ``_examples`` (a degenerate minimum with non-vanishing gradient noise).

Examples
--------
>>> from sgdsde.slt import dln_learning_coefficient
>>> float(dln_learning_coefficient((4, 2, 4), 1))
5.0
"""

from __future__ import annotations

from ._aoyagi import dln_learning_coefficient
from ._examples import quartic_additive_noise
from ._llc import LLCEstimate, default_beta, estimate_llc, product_llc, quadratic_llc

__all__ = [
    "estimate_llc",
    "LLCEstimate",
    "default_beta",
    "quadratic_llc",
    "product_llc",
    "dln_learning_coefficient",
    "quartic_additive_noise",
]
