"""Deep linear networks: Saxe, McClelland & Ganguli's mode dynamics (notes §4.1).

For a two-layer linear network f(x) = W₂W₁x trained by gradient flow on the squared loss
L = (1/2n) Σ_i ‖W₂W₁x_i − y_i‖² with whitened inputs (XᵀX/n = I), the input–output correlation
Σ_yx = YᵀX/n = U S Vᵀ (SVD) drives the modes independently when the initialisation is aligned with
it: the strength a_α = u_αᵀ W₂W₁ v_α of mode α obeys the logistic equation

    τ da/dt = 2a(s − a),        a(t) = s e^{2st/τ} / (e^{2st/τ} − 1 + s/a₀),

(τ = 1 when t = kη counts gradient steps times the learning rate). From a small initialisation every
mode sits on a plateau near 0 for a time ≈ (τ/2s) ln(s/a₀) and then rises sigmoidally: modes with
larger singular values are learnt first (saddle-to-saddle dynamics).

This module holds the closed form, whitened teacher data, an aligned (decoupled) initialisation in
the parameter layout of :class:`sgdsde.problems.DeepLinearNetwork`, the mode strengths of any θ and
the learning (plateau-exit) times of a trajectory.

Layout: ``_model`` (all of the above) and ``_experiment`` (``Config`` → :func:`run` →
``Record`` → :func:`check_plateaus`).
"""

from __future__ import annotations

from ._experiment import PROFILES, Config, check_plateaus, run
from ._model import (
    TwoLayerLinear,
    aligned_init,
    effective_a0,
    learning_times,
    mode_strengths,
    saxe_mode_strength,
    saxe_time_to,
    whitened_teacher,
)

__all__ = [
    "TwoLayerLinear",
    "saxe_mode_strength",
    "saxe_time_to",
    "whitened_teacher",
    "aligned_init",
    "mode_strengths",
    "effective_a0",
    "learning_times",
    "Config",
    "PROFILES",
    "run",
    "check_plateaus",
]
