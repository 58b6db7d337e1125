"""Elhage et al.'s (2022) toy model of superposition, many instances trained at once.

Model: n features x ∈ [0, 1]ⁿ, a hidden layer of m < n dimensions and a ReLU read-out,

    h = W x,   x̂ = ReLU(WᵀW x + b),   L = E Σ_i I_i (x_i − x̂_i)²,

W ``(m, n)``, b ``(n,)``, importances I_i. Each feature is independently active with probability
``density`` = 1 − S (S the sparsity), and then uniform on [0, 1]; otherwise 0. Data are fresh every
step (online SGD: the gradient noise is sampling noise of the batch, its covariance ∝ 1/B).

``instances`` independent models (each with its own density, learning rate and seed) are trained
in one batched loop (``torch.optim`` fed closed-form gradients, checked against autograd in the
tests), so a whole phase diagram is one run. :func:`geometry` reads off the feature geometry: the norms ‖W_i‖
(represented or not), the dimensions per feature m/‖W‖_F² and each feature's dimensionality
D_i = ‖W_i‖⁴ / Σ_j (W_iᵀW_j)² (1 = a dedicated dimension, 1/2 = an antipodal pair, 2/5 = a
pentagon, …).

Layout: ``_model`` (the model, its training and geometry) and ``_experiment``
(``Config`` → :func:`run` → ``Record`` → :func:`check_superposition`).
"""

from __future__ import annotations

from ._experiment import PROFILES, Config, check_superposition, run
from ._model import ToyResult, feature_batch, geometry, toy_grads, toy_loss, train_toy_models

__all__ = [
    "feature_batch",
    "toy_loss",
    "toy_grads",
    "ToyResult",
    "train_toy_models",
    "geometry",
    "Config",
    "PROFILES",
    "run",
    "check_superposition",
]
