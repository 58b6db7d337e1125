"""The local learning coefficient along saddle-to-saddle training of a linear network (§3 item 6).

Layout: ``_geometry`` (symmetry directions of the GL(h) orbit, Hessian and Σ_emp spectra, their
kernels) and ``_experiment`` (``Config`` → :func:`run` → ``Record`` → :func:`check_llc`).
"""

from __future__ import annotations

from ._experiment import PROFILES, Config, check_llc, checkpoints, run
from ._geometry import hessian_matrix, kernel_residuals, spectra, symmetry_directions

__all__ = [
    "Config",
    "PROFILES",
    "run",
    "checkpoints",
    "check_llc",
    "symmetry_directions",
    "hessian_matrix",
    "spectra",
    "kernel_residuals",
]
