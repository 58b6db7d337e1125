"""Kesten tails of SGD iterates (issue 17, item 1): the moment equation against long runs.

Online least squares with Gaussian inputs (:class:`~sgdsde.dynamics.OnlineLeastSquares`) is a
random linear recursion whose stationary iterates have the tail index α of
:func:`sgdsde.kesten.kesten_tail_index`. :func:`run` estimates α from the iterates (across
independent chains at a fixed late step: i.i.d. samples) with Hill and Pickands
(:mod:`sgdsde.tails`) over a grid of step sizes, measures the tails of the gradient noise given θ
and along the run, and runs the two contrasts: SGD on a fixed finite data set (finitely many
multipliers) and the Lévy-driven Euler scheme of the §4 page (heavy-tailed increments).
"""

from __future__ import annotations

from ._experiment import PROFILES, Config, run

__all__ = ["Config", "PROFILES", "run"]
