"""The edge of stability of full-batch GD and its central flow (notes §3 item 4, issue 16).

A tanh MLP student fits a random tanh teacher with the squared loss; full-batch GD (plain and heavy
ball, through :func:`sgdsde.sgd.run`) at several step sizes η, with the sharpness S = λ_max(∇²L)
tracked along the path (:func:`sgdsde.curvature.track_sharpness`); the central flow of Cohen et
al. (2025) (:class:`sgdsde.dynamics.CentralFlow`) from the same start, against GD averaged over
its oscillation and against gradient flow.

Layout: ``_model`` (teacher data and the student problem), ``_experiment`` (``Config`` →
:func:`run` → ``Record``) and ``_checks`` (the numbers the chapter asserts).
"""

from __future__ import annotations

from ._checks import central_flow_agreement, eos_ratios, moving_average
from ._experiment import PROFILES, Config, run
from ._model import edge_toy, mlp_problem, teacher_data

__all__ = [
    "Config",
    "PROFILES",
    "run",
    "mlp_problem",
    "teacher_data",
    "edge_toy",
    "eos_ratios",
    "central_flow_agreement",
    "moving_average",
]
