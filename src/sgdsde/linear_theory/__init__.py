"""Exact second moments of SGD and of its SDEs for least squares (the yardstick of notes §2.3).

For ``LinearRegression`` (ℓ_i = ½(x_iᵀθ − y_i)²) write δ = θ − θ̂, H = XᵀX/n, H_B for the batch
Hessian and b_B = g_B(θ̂). One SGD step is δ' = (I − ηH_B)δ − ηb_B, so the second moment
M = E[δδᵀ] (vectorised row-major, ``vec M`` of length d²) obeys an exact linear recursion. With

* ``K = (1/n) Σ_i x_i x_iᵀ ⊗ x_i x_iᵀ`` (the features' fourth-moment operator, ``(d², d²)``),
* ``H⊗H`` and ``H⊕H = H⊗I + I⊗H`` (``(d², d²)``),
* ``c = 1`` with replacement, ``c = (n − B)/(n − 1)`` without (the scheme's
  :meth:`sgdsde.sampling.SamplingScheme.cov_factor`, e.g. ``sampling.cov_factor(scheme, n, B)``),
* ``Σ̂ = Σ_emp(θ̂)``,

one has E[H_B ⊗ H_B] = H⊗H + (c/B)(K − H⊗H), E[b_B b_Bᵀ] = (c/B)Σ̂ and

* SGD: ``M_{k+1} = T(η) M_k + η² (c/B) Σ̂`` with ``T(η) = I − η(H⊕H) + η² E[H_B⊗H_B]``;
* the SDE (23): ``dM/dt = −A(η) M + (ηc/B) Σ̂`` with ``A(η) = H⊕H − (ηc/B)(K − H⊗H)``
  (from E[Σ_emp(θ)] = Σ̂ + (K − H⊗H)M);
* the constant-Σ SDE: ``dM/dt = −(H⊕H) M + (ηc/B) Σ̂``.

Their stationary states solve the linear equations of the chapter on §2.3 (``eq-s23-moments``), and
the stationary excess loss is E[L_n(θ) − L_n(θ̂)] = tr(HM)/2. Every function takes the operators
as a :class:`MomentOperators` built once by :func:`moment_operators`; dtype and device follow the
problem.

The augmented moment maps (:func:`augmented_step_matrix`, :func:`augmented_generator`) track
z = (1, E θ, vec E θθᵀ) in the original coordinates, for any drift pair (H, b) (gradient flow, the
SDE (23), the order-2 modified equation, Euler–Maruyama), with the noise's moments from
:func:`noise_moment_operator`.
"""

from ._augmented import (
    AugmentedOperators,
    augmented_generator,
    augmented_operators,
    augmented_state,
    augmented_step_matrix,
    moments_of,
    noise_moment_operator,
)
from ._operators import (
    MomentOperators,
    batch_hessian_moment,
    excess_loss,
    moment_operators,
    sgd_moment_operator,
    sgd_stability_edge,
    stationary_moment_additive,
    stationary_moment_sde,
    stationary_moment_sgd,
)
from ._paths import sde_moment_path, sgd_moment_path
from ._recursions import discrete_lyapunov, reshuffle_variance_factor

__all__ = [
    "MomentOperators",
    "moment_operators",
    "batch_hessian_moment",
    "sgd_moment_operator",
    "sgd_stability_edge",
    "stationary_moment_sgd",
    "stationary_moment_sde",
    "stationary_moment_additive",
    "excess_loss",
    "sgd_moment_path",
    "sde_moment_path",
    "reshuffle_variance_factor",
    "discrete_lyapunov",
    "AugmentedOperators",
    "augmented_operators",
    "noise_moment_operator",
    "augmented_step_matrix",
    "augmented_generator",
    "augmented_state",
    "moments_of",
]

from ._momentum import (  # noqa: E402
    eigenbasis_correlation,
    heavy_ball_moment_operator,
    heavy_ball_stability_edge,
    mean_sq_batch_grad,
    stationary_moment_heavy_ball,
    stationary_moment_underdamped,
    underdamped_parameters,
)

__all__ += [
    "heavy_ball_moment_operator",
    "stationary_moment_heavy_ball",
    "stationary_moment_underdamped",
    "heavy_ball_stability_edge",
    "underdamped_parameters",
    "eigenbasis_correlation",
    "mean_sq_batch_grad",
]
