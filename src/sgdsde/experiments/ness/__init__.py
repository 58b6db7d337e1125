"""The 2-D non-equilibrium stationary law of SGD's SDE (notes §3 item 5) as Config → run → Record.

The loss is ``sgdsde.problems.warped_plane_loss`` (θ-dependent, anisotropic Σ(θ) that does not
commute with the Hessian). :func:`run` solves the stationary Fokker–Planck equation of the SDE (23)
on a grid, runs SGD and the SDE from the minimum over many independent chains, and measures the
probability of the four quadrants and the current through them (time-symmetric estimator,
:func:`sgdsde.nonequilibrium.symmetric_current`), the second moments, and the error of the
small-η expansion (Gaussian, and Gaussian × (1 + √ε P)) against the solver over several ε.
"""

from __future__ import annotations

from ._experiment import PROFILES, Config, run

__all__ = ["Config", "PROFILES", "run"]
