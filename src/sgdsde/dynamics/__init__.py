"""The one dynamics core: :func:`~sgdsde.dynamics.core.integrate` advances a stepper and returns a
:class:`~sgdsde.dynamics.path.Path`.

Layout: ``core`` (the loop: chunked draws, saves, divergence, stopping, CUDA graphs),
``steppers`` (one module per solver: ``sgd`` for SGD and heavy ball, ``euler_maruyama`` with
Gaussian or α-stable noise, ``sgd_sde`` for SGD's SDE and the order-2 modified equation,
``underdamped`` for the underdamped Langevin SDE (heavy ball's continuous-time model), each
declaring its weak and strong order), ``stopping`` (horizon,
first exit), ``draws`` (chunked increments), ``path`` (the result type and the divergence error).
``sgd.run``, ``sde.simulate``, ``sde.sgd_sde`` and ``experiments.wells.escape_times`` are thin
front ends on it.

Examples
--------
>>> import torch
>>> from sgdsde.dynamics import integrate, EulerMaruyama, FirstExit
>>> em = EulerMaruyama(lambda x: torch.zeros_like(x), 1.0, 0.01)        # Brownian motion
>>> path = integrate(em, torch.zeros(1, dtype=torch.float64), 10_000, chains=500, seed=0,
...                  save_every=10_000, stop=FirstExit(lambda x, ids: x[:, 0].abs() >= 1))
>>> bool(path.censored.float().mean() < 0.01)                            # E τ = 1 for |W| ≥ 1
True
"""

from __future__ import annotations

from .core import integrate
from .draws import Increments, standard_normal_
from .path import DivergenceError, Path
from .steppers import (
    SGD,
    SGDSDE,
    SGLD,
    CentralFlow,
    EulerMaruyama,
    ModifiedEquation,
    OnlineLeastSquares,
    SGLDDivergenceError,
    Stepper,
    Underdamped,
    hvp_grad,
)
from .stopping import FirstExit, Horizon

__all__ = [
    "integrate",
    "Path",
    "DivergenceError",
    "Stepper",
    "SGD",
    "EulerMaruyama",
    "SGDSDE",
    "ModifiedEquation",
    "Underdamped",
    "hvp_grad",
    "OnlineLeastSquares",
    "SGLD",
    "SGLDDivergenceError",
    "CentralFlow",
    "Horizon",
    "FirstExit",
    "Increments",
    "standard_normal_",
]
