"""Double-well losses and escape times of SGD, the Gaussian SDE and the α-stable (Lévy) SDE.

The loss
--------
:class:`DoubleWell` is the one-dimensional potential

    U(x) = h·f(x / w₋)  for x < 0,     U(x) = h·f(x / w₊)  for x ≥ 0,
    f(y) = (1 − y²)²  for |y| ≤ 1,     f(y) = 4(|y| − 1)²  for |y| > 1,

with minima at −w₋ and +w₊ (value 0), a saddle at 0 (value h, the barrier) and quadratic walls
(so that |U''| ≤ 8h/min(w)² everywhere and Euler steps stay stable even after a long jump). U is C¹
and piecewise C². Both wells have depth h; w₋ ≠ w₊ makes them scaled copies of each other of
different widths.

:class:`WellProblem` turns U into a finite-sum problem with SGD-type noise: ℓ_i(θ) = U(θ) − a_i θ
with centred data (Σ a_i = 0), so L_n = U exactly and the minibatch noise
ξ = g_n − g_B = (1/B) Σ_{i∈B} a_i is additive. Drawing the a_i from a symmetric α-stable law gives
heavy-tailed gradient noise (as measured in deep networks by Şimşekli et al. 2019); Gaussian a_i
give light tails.

Escape times
------------
:func:`escape_times` runs ensembles from the left minimum until x_k ≥ the right minimum, for SGD
on the data a_i, or for dX = −U'(X)dt + ε dW (Gaussian) or ε dL^α (symmetric α-stable Lévy motion,
increments dt^{1/α}·S_α with E e^{iuS_α} = e^{−|u|^α}) by Euler–Maruyama; many configurations
(η, B, depth, width, ε, α) run as one batched ensemble. With dt = η the SDE step is SGD's step
with its noise ξ replaced by Gaussian or α-stable noise of the matched scale: ε = √(ησ²/B) with σ² = Σ_emp (notes (23)), or ε = η^{1−1/α}·s with s the fitted scale of ξ.

Theory: :func:`gaussian_mean_exit_time` is the exact mean first-passage time of the Gaussian SDE
(a double integral), whose small-ε form is Kramers' law log τ ≈ 2h/ε² (exponential in
barrier/noise); :func:`levy_mean_exit_time` is the first-order law of Imkeller & Pavlyukevich for
the Lévy SDE, τ ≈ α w^α / (c_α ε^α), polynomial in the width w and in ε, independent of the depth.

Layout
------
``_potential`` (the loss and the problem), ``_escape`` (the batched escape-time
simulation), ``_laws`` (exit-time laws), ``_fit`` (the stable fit), ``_experiment``
(``Config`` → :func:`run` → ``Record``) and ``_checks`` (:func:`check_escape` and the other
checks). Everything is re-exported here.
"""

from __future__ import annotations

from ._checks import alpha_separation, check_escape, fits_of, kramers_pairs, kramers_sigma2_max
from ._escape import EscapeTimes, escape_times
from ._experiment import METHODS, PROFILES, Config, heavy_data, run
from ._fit import StableFit, fit_stable
from ._laws import gaussian_mean_exit_time, kramers_time, levy_mean_exit_time, levy_measure_constant
from ._potential import DoubleWell, WellProblem, well_problem

__all__ = [
    "levy_measure_constant",
    "DoubleWell",
    "WellProblem",
    "well_problem",
    "EscapeTimes",
    "escape_times",
    "gaussian_mean_exit_time",
    "kramers_time",
    "levy_mean_exit_time",
    "StableFit",
    "fit_stable",
    "Config",
    "PROFILES",
    "METHODS",
    "run",
    "heavy_data",
    "fits_of",
    "alpha_separation",
    "kramers_pairs",
    "kramers_sigma2_max",
    "check_escape",
]
