"""The objects of the notes: losses ℓ_i, empirical risk L_n, per-sample gradients g_i, g_n, g_B.

A :class:`Problem` (``base``) holds a data set D_n = {(x_i, y_i)}_{i=1}^n and a parametric loss over
one flat θ of length ``d``; every method accepts θ ``(d,)`` or a batch of chains ``(..., d)``.

Concrete problems: :class:`LinearRegression` (``linear``, closed form), :class:`TorchModel`
(``torch_model``: any ``nn.Module``, per-sample gradients through an explicit backend —
:class:`FuncBackend` or the fast :class:`LinearBackend`), :class:`DeepLinearNetwork`
(``deep_linear``), :class:`ShiftedLoss` (``shifted``: ℓ_i = f(θ) − t_iᵀφ(θ), additive or
multiplicative noise in closed form), and :func:`~sgdsde.problems.torch_model.digits_mlp`. The data makers live in
:mod:`sgdsde.datasets` and are re-exported here.

dtype and device follow the data: a θ of another dtype is a ``TypeError`` naming the argument.
"""

from __future__ import annotations

from ..datasets import digits, gaussian_regression, teacher_student
from .base import Problem
from .deep_linear import DeepLinearNetwork
from .linear import LinearRegression
from .shifted import ShiftedLoss
from .torch_model import FuncBackend, LinearBackend, TorchModel, _ce, cross_entropy, digits_mlp

__all__ = [
    "Problem",
    "LinearRegression",
    "TorchModel",
    "FuncBackend",
    "LinearBackend",
    "DeepLinearNetwork",
    "ShiftedLoss",
    "cross_entropy",
    "gaussian_regression",
    "teacher_student",
    "digits",
    "digits_mlp",
]
_ce = _ce  # re-exported private name used by older tests

from .torch_model import binary_cross_entropy  # noqa: E402

__all__ += ["binary_cross_entropy"]

from .shifted import from_potential  # noqa: E402

__all__ += ["from_potential"]

from .shifted import quadratic_variance_loss  # noqa: E402

__all__ += ["quadratic_variance_loss"]

from .torch_model import squared_error  # noqa: E402

__all__ += ["squared_error"]

from ._planar import warped_plane_loss  # noqa: E402

__all__ += ["warped_plane_loss"]
