"""Euler–Maruyama for Itô SDEs (Gaussian or α-stable driving noise), SGD's SDE, Ornstein–Uhlenbeck.

Conventions
-----------
* States are batches of chains ``x`` of shape ``(chains, d)``; time is in the SDE's own units (for
  :func:`sgd_sde`, ``t = k η`` after ``k`` SGD steps).
* Itô SDE :math:`dx = b(x)\\,dt + \\sigma(x)\\,dW_t` with :math:`W` an ``m``-dimensional Wiener
  process; :math:`\\sigma` is either diagonal (``(chains, d)``, then ``m = d``) or a general
  ``(chains, d, m)`` matrix. Euler–Maruyama:
  :math:`x_{k+1} = x_k + b(x_k)\\,\\Delta t + \\sigma(x_k)\\,\\Delta W_k`,
  :math:`\\Delta W_k \\sim \\mathcal N(0, \\Delta t\\, I_m)`.
* α-stable noise (``noise="alpha_stable"``): :math:`dW` is replaced by the increments of a
  standard symmetric α-stable Lévy process :math:`L^\\alpha` with
  :math:`\\mathbb E e^{iuL^\\alpha_t} = e^{-t|u|^\\alpha}`, i.e. :math:`\\Delta L_k =
  \\Delta t^{1/\\alpha} S_\\alpha` with :math:`S_\\alpha` from :func:`sgdsde.levy.symmetric_stable`.
  At α = 2 this is :math:`\\sqrt2\\,W` (variance 2 per unit time), not :math:`W`.

Speed: the increments are drawn in chunks of many steps at once (drawing them dominates the cost of
a cheap SDE on CPU); each step is one fused update. On CUDA an optional CUDA-graph path
(``cuda_graph=True``) replays whole chunks of steps.

Examples
--------
>>> import torch
>>> from sgdsde.sde import simulate
>>> x0 = torch.zeros(1, dtype=torch.float64)
>>> path = simulate(lambda x: -x, lambda x: torch.ones_like(x), x0, dt=0.01, steps=200,
...                 chains=4000, seed=0)
>>> path.x.shape, float(path.t[-1])
(torch.Size([201, 4000, 1]), 2.0)
>>> abs(float(path.x[-1].var()) - 0.5 * (1 - torch.exp(torch.tensor(-4.0)).item())) < 0.05
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real

import torch

from ._validate import check_dt as _check_dt
from ._validate import check_float_dtype as _check_float_dtype
from ._validate import check_int as _check_int
from ._validate import check_noise as _check_noise
from ._validate import check_on_divergence
from ._validate import check_x0 as _check_x0
from ._validate import generator as _generator
from .dynamics import SGDSDE, EulerMaruyama, Underdamped, integrate
from .dynamics.draws import CHUNK_ELEMENTS_CPU, CHUNK_ELEMENTS_CUDA  # noqa: F401  (re-exported)
from .dynamics.draws import Increments as _Noise  # noqa: F401
from .dynamics.draws import standard_normal_ as _normal_  # noqa: F401  (tests use it)
from .dynamics.path import Path
from .dynamics.steppers import hvp_grad as _hvp_grad  # noqa: F401
from .ornstein_uhlenbeck import OrnsteinUhlenbeck
from .potentials import as_drift
from .problems import Problem
from .sampling import cov_factor
from .sgd import DivergenceError as _BaseDivergenceError

__all__ = ["Path", "DivergenceError", "simulate", "underdamped", "sgd_sde", "OrnsteinUhlenbeck"]


class DivergenceError(_BaseDivergenceError):
    """A simulated state became non-finite (NaN or ±inf).

    Attributes ``step`` (first step k whose state x_k is non-finite), ``chains`` (list of chains
    non-finite at that step) and ``trajectory`` (the :class:`Path` saved before that chunk).
    Subclass of :class:`sgdsde.sgd.DivergenceError`.

    Examples
    --------
    >>> import torch
    >>> from sgdsde.sde import simulate, DivergenceError
    >>> try:
    ...     simulate(lambda x: x ** 3, lambda x: torch.zeros_like(x), torch.full((1,), 10.0), 1.0, 50)
    ... except DivergenceError as err:
    ...     print(err.chains)
    [0]
    """

    def __init__(self, step: int, chains: list, dt: float | None = None, trajectory=None):
        self.step, self.chains, self.trajectory = step, chains, trajectory
        shown = chains if len(chains) <= 20 else chains[:20] + ["..."]
        t = f" (t = {step * dt:g})" if dt is not None else ""
        RuntimeError.__init__(
            self,
            f"SDE diverged at step {step}{t}: x_{step} is non-finite (NaN/inf) in "
            f"{len(chains)} chain(s) {shown}. Reduce dt, check the drift/diffusion, or use "
            'on_divergence="flag" to freeze those chains and continue.',
        )


def _error(dt):
    def error(step, chains, path):
        return DivergenceError(step, chains, dt, path)

    return error


def simulate(
    drift: Callable[[torch.Tensor], torch.Tensor] | torch.Tensor,
    diffusion,
    x0,
    dt: float,
    steps: int,
    *,
    noise: str = "gaussian",
    alpha: float | None = None,
    chains: int = 1,
    seed: int = 0,
    save_every: int = 1,
    generator: torch.Generator | None = None,
    on_divergence: str = "raise",
    cuda_graph: bool = False,
    increments: torch.Tensor | None = None,
) -> Path:
    """Vectorized Euler–Maruyama for the Itô SDE dx = b(x) dt + σ(x) dW over many chains.

    Parameters
    ----------
    drift : callable or Tensor ``(d, d)``
        ``b(x)``: ``(chains, d)`` → ``(chains, d)`` (state units per time unit). A matrix M means
        the linear drift b(x) = Mx (:class:`sgdsde.potentials.LinearDrift`).
    diffusion : callable or Tensor
        ``σ(x)``. A callable returning ``(chains, d)`` means diagonal noise (``m = d``, entry-wise
        product with dW); returning ``(chains, d, m)`` means general noise with an ``m``-dimensional
        Wiener process. A constant may be passed as a tensor: ``(d,)`` diagonal, ``(d, m)`` general,
        or a 0-d scalar (σ·I). Units: state units per √time.
    x0 : Tensor ``(d,)`` or ``(chains, d)``
        Initial state; its dtype and device are used throughout.
    dt : float
        Time step > 0.
    steps : int
        Number of steps ≥ 0; final time ``steps * dt``.
    noise : {"gaussian", "alpha_stable"}
        ``"alpha_stable"`` drives the SDE with a standard symmetric α-stable Lévy process: the
        increment for one step is ``dt**(1/alpha) * S_alpha`` with ``E exp(iuS) = exp(-|u|^alpha)``
        (so at ``alpha=2`` the driver is √2·W).
    alpha : float, optional
        Stability index in (0, 2]; required for (and only for) ``noise="alpha_stable"``.
    chains : int
        Number of independent chains (used when ``x0`` is ``(d,)``; else must match or be 1).
    seed : int
        Seed of the ``torch.Generator`` created on ``x0``'s device (ignored if ``generator``).
    save_every : int
        Save every this many steps (the initial state and the final state are always saved).
    generator : torch.Generator, optional
        Random source to use instead of a fresh seeded one.
    on_divergence : {"raise", "flag"}
        A non-finite state raises :class:`DivergenceError` naming the first bad step and the
        chains; with ``"flag"`` the run continues and ``Path.diverged``/``diverged_step`` say which.
        (Checked once per chunk of steps; the exact step is found by replaying that chunk.)
    cuda_graph : bool
        On CUDA, capture whole chunks of steps in a CUDA graph (drift/diffusion must be
        capturable: no host synchronisation). Falls back to the eager loop if capture fails.
    increments : Tensor ``(steps, chains, m)``, optional
        The standard draws to use instead of random ones: N(0, 1) entries for Gaussian noise
        (the step uses ``sqrt(dt) * increments[k]``), standard S_α entries for α-stable noise
        (``dt**(1/alpha) * increments[k]``). For coupling runs at different ``dt`` on one
        Brownian path (strong error): coarse draws = sums of r fine draws divided by ``r**(1/2)``
        (``r**(1/alpha)``).

    Returns
    -------
    Path
        ``t (T,)``, ``x (T, chains, d)`` with ``T = ceil(steps / save_every) + 1``.

    Raises
    ------
    ValueError
        Bad ``dt``, ``steps``, ``alpha``, ``noise``, ``x0``, or drift/diffusion returning the wrong
        shape (the message names which and the step).
    TypeError
        Drift/diffusion returning the wrong dtype, or arguments of the wrong type.
    DivergenceError
        A state became non-finite (``on_divergence="raise"``).

    Examples
    --------
    >>> import torch
    >>> A = torch.tensor([[1.0, 0.5], [0.0, 2.0]], dtype=torch.float64)
    >>> sigma = torch.eye(2, dtype=torch.float64)            # constant general noise (d, m)
    >>> p = simulate(lambda x: -x @ A.T, sigma, torch.ones(2, dtype=torch.float64), 0.01, 100,
    ...              chains=8, save_every=10)
    >>> p.x.shape, p.step[:3].tolist()
    (torch.Size([11, 8, 2]), [0, 10, 20])
    >>> simulate(lambda x: -x, lambda x: torch.ones(3), torch.zeros(2), 0.1, 5)
    Traceback (most recent call last):
    ...
    ValueError: diffusion(x) must return (chains, d) = (1, 2) for diagonal noise or (chains, d, m) for general noise; got (3,) (step 0)
    """
    dt = _check_dt(dt)
    steps = _check_int("steps", steps, 0)
    chains = _check_int("chains", chains, 1)
    save_every = _check_int("save_every", save_every, 1)
    alpha = _check_noise(noise, alpha)
    check_on_divergence(on_divergence)
    drift_fn = as_drift(drift)
    x = _check_x0(x0, chains)
    gen = _generator(x.device, seed, generator)
    stepper = EulerMaruyama(
        drift_fn, diffusion, dt, noise=noise, alpha=alpha, increments=increments
    )
    stepper.error = _error(dt)  # type: ignore[method-assign]  # this run's error, with its dt
    return integrate(
        stepper,
        x,
        steps,
        dt=dt,
        generator=gen,
        save_every=save_every,
        on_divergence=on_divergence,
        cuda_graph=cuda_graph,
    )


def underdamped(
    force: Callable[[torch.Tensor], torch.Tensor],
    friction: float,
    diffusion,
    x0,
    dt: float,
    steps: int,
    *,
    chains: int = 1,
    seed: int = 0,
    save_every: int = 1,
    generator: torch.Generator | None = None,
    on_divergence: str = "raise",
    increments: torch.Tensor | None = None,
) -> Path:
    """The underdamped Langevin SDE dθ = V dt, dV = (−γV + F(θ)) dt + σ(θ) dW over many chains.

    Semi-implicit Euler–Maruyama (:class:`sgdsde.dynamics.Underdamped`, weak order 1): heavy-ball
    SGD with η, μ is this scheme with h = √η, γ = (1 − μ)/√η, F = −∇L, σσᵀ = hΣ/B.

    Parameters
    ----------
    force : callable θ ``(chains, d)`` → ``(chains, d)``
    friction : float γ ≥ 0
    diffusion : callable θ → ``(chains, d, m)``, or a constant Tensor (0-d, ``(d,)`` or ``(d, m)``)
    x0 : Tensor ``(2d,)`` or ``(chains, 2d)``: the state (θ, V)
    dt, steps, chains, seed, save_every, generator, on_divergence, increments
        As in :func:`simulate` (Gaussian noise only).

    Returns
    -------
    Path
        ``x (T, chains, 2d)``: θ in ``x[..., :d]``, V in ``x[..., d:]``.

    Examples
    --------
    Kinetic Langevin at unit temperature (σ² = 2γ) on L = θ²/2: Var θ = Var V = 1 at stationarity.

    >>> import torch
    >>> p = underdamped(lambda th: -th, 1.0, torch.tensor(2**0.5, dtype=torch.float64),
    ...                 torch.zeros(2, dtype=torch.float64), 0.02, 1000, chains=2000, seed=0,
    ...                 save_every=1000)
    >>> [bool(abs(float(v) - 1) < 0.2) for v in p.x[-1].var(0)]   # 6 SE; O(dt) bias 2%
    [True, True]
    """
    dt = _check_dt(dt)
    steps = _check_int("steps", steps, 0)
    chains = _check_int("chains", chains, 1)
    save_every = _check_int("save_every", save_every, 1)
    check_on_divergence(on_divergence)
    x = _check_x0(x0, chains)
    if x.shape[-1] % 2:
        raise ValueError(f"x0 must be the state (θ, V) of even length 2d; got {x.shape[-1]}")
    gen = _generator(x.device, seed, generator)
    stepper = Underdamped(force, friction, diffusion, dt, increments=increments)
    stepper.error = _error(dt)  # type: ignore[method-assign]
    return integrate(
        stepper,
        x,
        steps,
        dt=dt,
        generator=gen,
        save_every=save_every,
        on_divergence=on_divergence,
    )


# ---------------------------------------------------------------------------------------------
# SGD's SDE
# ---------------------------------------------------------------------------------------------
def sgd_sde(
    problem,
    theta0,
    lr: float,
    batch_size: int,
    steps: int,
    *,
    dt: float | None = None,
    sampling="with_replacement",
    noise: str = "gaussian",
    alpha: float | None = None,
    order: int = 1,
    chains: int = 1,
    seed: int = 0,
    save_every: int = 1,
    generator: torch.Generator | None = None,
    on_divergence: str = "raise",
) -> Path:
    """Euler–Maruyama for SGD's SDE (notes (23)), with the noise applied through the factor F.

    The SDE, in time ``t = k η`` (``k`` SGD steps),

    .. math::
        d\\theta = -\\nabla L_n(\\theta)\\,dt
        \\;[-\\tfrac{\\eta}{4}\\nabla\\|\\nabla L_n(\\theta)\\|^2\\,dt\\ \\text{if order}=2]
        + \\sqrt{\\tfrac{\\eta c}{B}}\\,\\Sigma_{emp}(\\theta)^{1/2} dW_t,

    with ``c = 1`` (with replacement) or ``c = (n−B)/(n−1)`` (without replacement; also used for
    ``"reshuffle"``, matching the marginal covariance of one reshuffled batch but not the
    anti-correlation across an epoch). The second-order drift uses ∇‖g‖² = 2Hg (Hessian-vector
    product by double backward through ``problem.grad``), i.e. ``−(η/2) H g_n``.

    The diffusion is never formed: with ``F = (G − 1 g_nᵀ)/√n`` ``(chains, n, d)`` (same factor as
    :func:`sgdsde.noise.noise_factor`, FᵀF = Σ_emp, computed here from the per-sample gradients
    ``G`` that also give the drift), one step adds ``√(dt) √(ηc/B) Fᵀz``, ``z ~ N(0, I_n)``,
    whose covariance is ``dt·(ηc/B)·Σ_emp``: cost O(n d) per chain and step instead of O(d³).

    α-stable variant (``noise="alpha_stable"``): ``z`` has i.i.d. symmetric α-stable entries with
    scale ``2^{-1/2}`` (characteristic function ``exp(−|u|^α / 2^{α/2})``), which at α = 2 is
    exactly N(0, 1); the step increment is

    .. math::
        \\Delta t^{1/\\alpha}\\,\\eta^{1-1/\\alpha}\\sqrt{c/B}\\;F^\\top z .

    Matching principle: one SGD step's noise η·ξ with ξ = √(c/B) Fᵀz has, coordinate by
    coordinate of the latent per-sample directions, the same stable *scale parameter* as the
    Gaussian model of the minibatch noise (N(0, cΣ_emp/B)); with ``dt = η`` the increment is
    exactly η·ξ for every α. At α = 2 the path coincides in distribution with the Gaussian one
    (same seed does not mean same draws). For α < 2 the variance is infinite, so no covariance
    matching is possible; the scale (not the variance) is what is matched.

    Parameters
    ----------
    problem : sgdsde.problems.Problem
        Needs ``per_sample_grads`` (and ``grad`` differentiable by autograd, or ``hessian``, for
        ``order=2``).
    theta0 : Tensor ``(d,)`` or ``(chains, d)``, or None
        Initial parameters (problem's dtype/device); None means ``problem.theta0``.
    lr : float
        Learning rate η > 0.
    batch_size : int
        B ≥ 1 (≤ n without replacement / reshuffle).
    steps : int
        Number of Euler–Maruyama steps ≥ 0 (final time ``steps * dt``).
    dt : float, optional
        SDE time step; default η (then one EM step ↔ one SGD step).
    sampling : {"with_replacement", "without_replacement", "reshuffle"} or the scheme class
    noise : {"gaussian", "alpha_stable"}
    alpha : float, optional
        Stability index in (0, 2] for ``noise="alpha_stable"``.
    order : {1, 2}
    chains, seed, save_every, generator, on_divergence
        As in :func:`simulate`.

    Returns
    -------
    Path
        ``t (T,)`` in SDE time (``t = k η`` when ``dt = η``), ``x (T, chains, d)``.

    Examples
    --------
    >>> import torch
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(50, 3, seed=0))
    >>> path = sgd_sde(p, p.theta0, lr=0.1, batch_size=5, steps=20, chains=16, save_every=10)
    >>> path.x.shape, [round(float(t), 6) for t in path.t]
    (torch.Size([3, 16, 3]), [0.0, 1.0, 2.0])
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an sgdsde.problems.Problem, got {type(problem).__name__}")
    if (
        isinstance(lr, bool)
        or not isinstance(lr, Real)
        or not (float(lr) > 0 and math.isfinite(lr))
    ):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    eta = float(lr)
    dt = eta if dt is None else _check_dt(dt)
    steps = _check_int("steps", steps, 0)
    chains = _check_int("chains", chains, 1)
    save_every = _check_int("save_every", save_every, 1)
    B = _check_int("batch_size", batch_size, 1)
    alpha = _check_noise(noise, alpha)
    if order not in (1, 2) or isinstance(order, bool):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    n, d = int(problem.n), int(problem.d)
    # The scheme object validates the name and B (B <= n without replacement) and knows its factor.
    c = cov_factor(sampling, n, B)
    if theta0 is not None and not isinstance(theta0, torch.Tensor):
        theta0 = torch.as_tensor(theta0, dtype=problem.dtype, device=problem.device)
    x = _check_x0(problem.theta0 if theta0 is None else theta0, chains, "theta0")
    if x.shape[-1] != d:
        raise ValueError(f"theta0 must have last dimension d = {d}, got {tuple(x.shape)}")
    _check_float_dtype("theta0", x, problem.dtype)  # as every problem method: no silent cast
    gen = _generator(x.device, seed, generator)
    if noise == "gaussian":
        scale, stable_scale = math.sqrt(dt * eta * c / B), 1.0
    else:
        scale = dt ** (1 / alpha) * eta ** (1 - 1 / alpha) * math.sqrt(c / B)
        stable_scale = 2**-0.5
    scale /= math.sqrt(n)  # F = (G - g)/sqrt(n)
    check_on_divergence(on_divergence)
    stepper = SGDSDE(
        problem, eta, dt, scale, order=order, noise=noise, alpha=alpha, stable_scale=stable_scale
    )
    stepper.error = _error(dt)
    return integrate(
        stepper, x, steps, dt=dt, generator=gen, save_every=save_every, on_divergence=on_divergence
    )
