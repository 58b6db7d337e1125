"""Steppers: one step of a dynamics, advanced by :func:`~sgdsde.dynamics.core.integrate`.

A stepper is a small object with

* ``weak_order`` / ``strong_order``: its declared orders of convergence (``None``: none claimed);
  the tests in ``tests/test_dynamics.py`` measure each one;
* ``draws(x, steps, gen)``: what random draws a run needs, as an object with ``chunk`` and
  ``fill(n)`` → the draws of the next n steps (or ``None`` if it draws nothing);
* ``step(x, z, k)`` → x_{k+1} from x_k and step k's draw z (never modifying ``x`` in place);
* optionally ``state()``/``restore(s)`` (internal state such as a momentum buffer, for the replay
  of a chunk), ``freeze(mask)`` (chains stopped by divergence), ``select(keep)`` (chains dropped by
  a first-exit rule), ``records``/``checked``/``observe(x, z, k)`` (per-save records, e.g. the
  loss; non-finite ``checked`` records count as divergence), ``times(step)`` (its own clock),
  ``error(step, chains, path)`` (the exception raised on divergence) and ``graph_safe``.

The steppers, one module each, all importable from here: :mod:`~sgdsde.dynamics.steppers.base`
(the protocol, :class:`~sgdsde.dynamics.steppers.base.Stepper`), :mod:`~sgdsde.dynamics.steppers.sgd`
(:class:`~sgdsde.dynamics.steppers.sgd.SGD`, plain and heavy ball, on a Problem with a sampling
scheme), :mod:`~sgdsde.dynamics.steppers.euler_maruyama`
(:class:`~sgdsde.dynamics.steppers.euler_maruyama.EulerMaruyama`: Gaussian or α-stable noise,
diagonal or general diffusion) and :mod:`~sgdsde.dynamics.steppers.sgd_sde`
(:class:`~sgdsde.dynamics.steppers.sgd_sde.SGDSDE`, SGD's SDE, notes (23), and with ``order=2``
the modified equation, :class:`~sgdsde.dynamics.steppers.sgd_sde.ModifiedEquation`) and
:mod:`~sgdsde.dynamics.steppers.online_lsq` (:class:`~sgdsde.dynamics.steppers.online_lsq.OnlineLeastSquares`:
online least squares with fresh Gaussian batches, a random linear recursion),
:mod:`~sgdsde.dynamics.steppers.sgld` (:class:`~sgdsde.dynamics.steppers.sgld.SGLD`, localised
stochastic-gradient Langevin dynamics, the sampler of the local learning coefficient),
:mod:`~sgdsde.dynamics.steppers.underdamped`
(:class:`~sgdsde.dynamics.steppers.underdamped.Underdamped`: semi-implicit Euler–Maruyama for the
underdamped Langevin SDE in (θ, V), of which heavy-ball SGD is one instance) and
:mod:`~sgdsde.dynamics.steppers.central_flow`
(:class:`~sgdsde.dynamics.steppers.central_flow.CentralFlow`: GD's central flow at the edge of
stability). A new solver
is a new module here, declaring its orders, and a test of them in ``tests/test_dynamics.py``.

Examples
--------
>>> from sgdsde.dynamics.steppers import SGD, EulerMaruyama, Stepper
>>> EulerMaruyama.weak_order, issubclass(SGD, Stepper)
(1.0, True)
"""

from __future__ import annotations

from .base import Stepper
from .central_flow import CentralFlow
from .euler_maruyama import EulerMaruyama
from .online_lsq import OnlineLeastSquares
from .sgd import SGD
from .sgd_sde import SGDSDE, ModifiedEquation, hvp_grad
from .sgld import SGLD, SGLDDivergenceError
from .underdamped import Underdamped

__all__ = [
    "Stepper",
    "SGD",
    "EulerMaruyama",
    "SGDSDE",
    "ModifiedEquation",
    "hvp_grad",
    "OnlineLeastSquares",
    "SGLD",
    "SGLDDivergenceError",
    "Underdamped",
    "CentralFlow",
]
