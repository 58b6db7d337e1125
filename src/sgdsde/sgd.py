"""SGD (notes §1.4, Algorithm 1) run as a vectorized ensemble of independent chains.

One call of :func:`run` advances ``chains`` independent copies of ::

    θ_{k+1} = θ_k − η_k g_{B_k}(θ_k)                       (momentum = 0)
    v_{k+1} = μ v_k + g_{B_k}(θ_k),  θ_{k+1} = θ_k − η_k v_{k+1}   (heavy ball, v_0 = 0)

in one batched tensor step per k: every chain draws its own batch B_k (``(chains, B)`` indices from
one ``torch.Generator`` on the problem's device, seeded by ``seed``), and ``problem.batch_grad``
computes only those rows. Monte Carlo over chains is how the book checks every statistical claim.
The loop itself is the dynamics core's (:func:`~sgdsde.dynamics.core.integrate` with the
:class:`sgdsde.dynamics.SGD` stepper); this module validates the arguments and picks the threads.

Divergence: a chain whose iterate becomes non-finite is caught at the step it happens. With
``on_divergence="raise"`` a :class:`DivergenceError` names the step and the chains; with ``"flag"``
those chains are frozen at their last finite iterate, marked in ``Trajectory.diverged`` (and
``diverged_step``), and the others go on. A NaN never leaks silently into the results.

Threads: for small problems (a few thousand numbers per step, e.g. 256 chains × B = 10 × d = 50)
torch's intra-op parallelism costs more than it gains, and on a busy 2-core machine two threads made
such steps up to ~50× slower. :func:`recommended_threads` returns 1 below ~2²⁰ numbers of work per
step; ``run(..., threads="auto")`` (the default) applies it for the duration of the run only. See
``benchmarks/bench_core.py`` for the measurements with 1 and 2 threads.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from numbers import Integral

import torch

from ._validate import as_float as _as_float
from ._validate import check_eta as _check_eta
from .dynamics import SGD, integrate
from .dynamics.path import DivergenceError as _CoreDivergenceError
from .dynamics.path import Path
from .problems import Problem
from .sampling import SamplingScheme, scheme_name

__all__ = [
    "run",
    "Trajectory",
    "DivergenceError",
    "constant",
    "inverse_sqrt",
    "recommended_threads",
]


class DivergenceError(_CoreDivergenceError):
    """Raised when an SGD iterate becomes non-finite; ``.step``, ``.chains``, ``.trajectory``.

    ``.step`` is the first k with θ_k (or a recorded loss L_n(θ_k)) non-finite in some chain,
    ``.chains`` the list of chains that diverged at that step, ``.trajectory`` the records made
    before it (a :class:`Trajectory`). A subclass of :class:`sgdsde.dynamics.DivergenceError`.

    Examples
    --------
    >>> import torch
    >>> from sgdsde import problems, sgd
    >>> X, y = problems.gaussian_regression(50, 3, seed=0)
    >>> try:
    ...     sgd.run(problems.LinearRegression(X, y), torch.zeros(3, dtype=X.dtype), lr=50.0, batch_size=5, steps=200)
    ... except sgd.DivergenceError as err:
    ...     print(err.chains)
    [0]
    """

    def __init__(self, step: int, chains: list[int], trajectory: Trajectory | None = None, lr=None):
        self.step, self.chains, self.trajectory = step, chains, trajectory
        shown = chains if len(chains) <= 20 else chains[:20] + ["..."]
        msg = (
            f"SGD diverged at step {step}: θ_{step} (or its loss L_n) is non-finite (NaN/inf) in "
            f"{len(chains)} chain(s) {shown}"
        )
        if lr is not None:
            msg += f" (learning rate at that step {lr:.4g}; try a smaller lr)"
        msg += '. Use on_divergence="flag" to freeze those chains and continue.'
        RuntimeError.__init__(self, msg)


#: The records of an SGD ensemble: the same class as :class:`sgdsde.dynamics.Path` (the SGD view).
#: ``theta`` ``(T, chains, d)`` is the same tensor as ``x``; ``loss`` ``(T, chains)`` or None;
#: ``step`` ``(T,)`` (0, r, 2r, …, and always the last step); ``noise`` ``(T, chains, d)`` of
#: ξ_k = g_n(θ_k) − g_{B_k}(θ_k) or None; ``diverged``/``diverged_step`` ``(chains,)``; ``lr``
#: ``(steps,)`` of η_k (float64, CPU); ``t`` the elapsed Σ_{j<k} η_j; ``final`` = θ at the last step.
Trajectory = Path


def constant(eta: float) -> Callable[[int], float]:
    """Constant schedule k ↦ η (notes §1.7 case 3).

    Examples
    --------
    >>> constant(0.1)(7)
    0.1
    """
    _check_eta("eta", eta)
    return lambda k: float(eta)


def inverse_sqrt(eta0: float) -> Callable[[int], float]:
    """Decaying schedule k ↦ η₀/√(k+1) (notes §1.7 case 4).

    Examples
    --------
    >>> inverse_sqrt(1.0)(3)
    0.5
    """
    _check_eta("eta0", eta0)
    return lambda k: float(eta0) / math.sqrt(k + 1)


def recommended_threads(problem: Problem, batch_size: int | None = None, chains: int = 1) -> int:
    """Intra-op thread count for an SGD run: 1 for small per-step work, else all of torch's.

    The per-step work is taken as chains·B·d numbers (B = n for full batch). Below 2²⁰ a step is a
    handful of tiny kernels, threading overhead dominates and a busy second core makes it far
    slower, so 1 thread; above, ``torch.get_num_threads()``.

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> recommended_threads(LinearRegression(*gaussian_regression(100, 50)), 10, chains=256)
    1
    """
    B = problem.n if batch_size is None else batch_size
    return 1 if chains * B * problem.d < 2**20 else torch.get_num_threads()


def _progress(progress, steps):
    if progress is None:
        progress = (not os.environ.get("TQDM_DISABLE")) and sys.stderr.isatty() and steps >= 1000
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps, desc="sgd", unit="step", leave=False)


def _int_at_least(name: str, v, lo: int) -> int:
    """``v`` as an int (Python or numpy integer, not bool) >= lo, else a ValueError naming it."""
    if isinstance(v, bool) or not isinstance(v, Integral) or v < lo:
        raise ValueError(f"{name} must be an int >= {lo}; got {v!r}")
    return int(v)


def run(
    problem: Problem,
    theta0: torch.Tensor | None,
    lr: float | Callable[[int], float],
    batch_size: int | None,
    steps: int,
    *,
    sampling: str | type[SamplingScheme] = "with_replacement",
    chains: int | None = None,
    momentum: float = 0.0,
    seed: int = 0,
    record_every: int = 1,
    record_noise: bool = False,
    record_loss: bool = True,
    on_divergence: str = "raise",
    threads: int | str | None = "auto",
    progress: bool | None = None,
) -> Trajectory:
    """Run ``chains`` independent SGD chains on ``problem`` for ``steps`` steps, all at once.

    Parameters
    ----------
    problem : Problem
    theta0 : Tensor ``(d,)`` (shared start) or ``(chains, d)``, or None for ``problem.theta0``
    lr : float > 0, or a callable k ↦ η_k > 0 (e.g. :func:`constant`, :func:`inverse_sqrt`)
    batch_size : int in [1, n] (with replacement: any int ≥ 1), or None for full-batch GD. B = n
        without replacement or with ``"reshuffle"`` is also exact GD (the batch is the data set);
        B = n *with* replacement is still stochastic (n i.i.d. draws).
    steps : int ≥ 0
    sampling : one of ``"with_replacement"``, ``"without_replacement"``, ``"reshuffle"``, or the
        scheme class (``sampling.WithReplacement``, ``sampling.WithoutReplacement``,
        ``sampling.Reshuffle``)
    chains : int ≥ 1; default: ``theta0.shape[0]`` if θ₀ is ``(chains, d)``, else 1
    momentum : float in [0, 1); heavy ball, 0 = plain SGD exactly
    seed : int; seeds the batch generator (on the problem's device). Chain c's batches differ from
        chain c′'s; the same seed gives the same trajectory.
    record_every : int ≥ 1; records k = 0, r, 2r, … and always k = steps
    record_noise : bool; also record ξ_k = g_n(θ_k) − g_{B_k}(θ_k) (costs a full gradient per record)
    record_loss : bool; record L_n(θ_k) (costs a full loss per record)
    on_divergence : ``"raise"`` or ``"flag"``
    threads : int, ``"auto"`` (default) or None; torch intra-op threads during the run (restored
        after). ``"auto"``: min(current, :func:`recommended_threads`), i.e. 1 thread for small
        per-step work, never more than the caller allowed; None: leave torch's setting alone
    progress : bool, optional; tqdm bar (default: on only in an interactive terminal, never when
        ``TQDM_DISABLE`` is set)

    Returns
    -------
    Trajectory

    Raises
    ------
    DivergenceError
        When ``on_divergence="raise"`` and some θ_k is non-finite.

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(100, 5))
    >>> tr = run(p, None, lr=0.05, batch_size=10, steps=200, chains=8, record_every=50)
    >>> tr.theta.shape, tr.step.tolist(), bool(tr.loss[-1].mean() < tr.loss[0].mean())
    (torch.Size([5, 8, 5]), [0, 50, 100, 150, 200], True)
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an sgdsde.problems.Problem, got {type(problem).__name__}")
    n, d = problem.n, problem.d
    # -- validate ------------------------------------------------------------------------------
    steps = _int_at_least("steps", steps, 0)
    record_every = _int_at_least("record_every", record_every, 1)
    sampling = scheme_name(sampling)  # a name or a sampling.SamplingScheme subclass
    if on_divergence not in ("raise", "flag"):
        raise ValueError(f"on_divergence must be 'raise' or 'flag'; got {on_divergence!r}")
    if (
        isinstance(momentum, bool)
        or not isinstance(momentum, (int, float))
        or not 0 <= momentum < 1
    ):
        raise ValueError(f"momentum must be a float in [0, 1); got {momentum!r}")
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    seed = int(seed)
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, Integral):
            raise TypeError(f"batch_size must be an int or None, got {type(batch_size).__name__}")
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 (or None for full batch); got {batch_size}")
        if sampling != "with_replacement" and batch_size > n:
            raise ValueError(
                f"batch_size must be in [1, n] = [1, {n}] for sampling={sampling!r}; got {batch_size}"
            )
    if callable(lr):
        lrs = []
        for k in range(steps):
            e = _as_float(lr(k))
            if e is None or not math.isfinite(e) or e <= 0:
                raise ValueError(f"lr(k) must return a finite number > 0; lr({k}) = {lr(k)!r}")
            lrs.append(e)
    elif _as_float(lr) is None:
        raise TypeError(
            f"lr must be a number > 0 or a callable k -> eta_k; got {type(lr).__name__}"
        )
    else:
        eta = _as_float(lr)
        assert eta is not None  # the branch above took the None case
        _check_eta("lr", eta)
        lrs = [eta] * steps
    if theta0 is None:
        theta0 = problem.theta0
    theta0 = problem._theta(theta0, "theta0")
    if theta0.ndim == 1:
        chains = 1 if chains is None else chains
    elif theta0.ndim == 2:
        if chains is not None and chains != theta0.shape[0]:
            raise ValueError(
                f"theta0 has shape {tuple(theta0.shape)}: its {theta0.shape[0]} rows "
                f"must equal chains = {chains}"
            )
        chains = theta0.shape[0]
    else:
        raise ValueError(
            f"theta0 must have shape (d,) or (chains, d) with d = {d}; got {tuple(theta0.shape)}"
        )
    chains = _int_at_least("chains", chains, 1)

    full = batch_size is None or (batch_size == n and sampling != "with_replacement")
    old_threads = torch.get_num_threads()
    if threads == "auto":
        threads = min(
            old_threads, recommended_threads(problem, None if full else batch_size, chains)
        )
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, Integral) or threads < 1:
            raise ValueError(f"threads must be an int >= 1, 'auto' or None; got {threads!r}")
        threads = int(threads)
        if threads != old_threads:
            torch.set_num_threads(threads)
    try:
        return _run(
            problem,
            theta0.expand(chains, d).clone(),
            lrs,
            batch_size,
            steps,
            sampling,
            float(momentum),
            seed,
            record_every,
            record_noise,
            record_loss,
            on_divergence,
            full,
            _progress(progress, steps),
        )
    finally:
        if torch.get_num_threads() != old_threads:
            torch.set_num_threads(old_threads)


@torch.no_grad()
def _run(
    problem,
    theta,
    lrs,
    batch_size,
    steps,
    sampling,
    mu,
    seed,
    record_every,
    record_noise,
    record_loss,
    on_divergence,
    full,
    bar,
) -> Trajectory:
    """sgd.run after validation: the :class:`sgdsde.dynamics.SGD` stepper through the core."""
    const = len(set(lrs)) <= 1 and steps > 0
    stepper = SGD(
        problem,
        lrs[0] if const else lrs,
        batch_size,
        sampling=sampling,
        momentum=mu,
        record_loss=record_loss,
        record_noise=record_noise,
        full=full,
    )
    lr_t = torch.tensor(lrs, dtype=torch.float64)

    def error(step, chains, path):
        path.lr = lr_t
        return DivergenceError(step, chains, _cpu(path), lrs[step - 1] if step >= 1 else None)

    stepper.error = error  # type: ignore[method-assign]  # this run's error, with its lr schedule
    path = integrate(
        stepper,
        theta,
        steps,
        dt=lrs[0] if const else None,
        seed=seed,
        save_every=record_every,
        on_divergence=on_divergence,
        progress=bar,
    )
    path.lr = lr_t
    return _cpu(path)


def _cpu(path: Path) -> Path:
    """Step indices and divergence flags on the CPU (as sgd.run always gave them)."""
    path.step, path.diverged, path.diverged_step = (
        path.step.cpu(),
        path.diverged.cpu(),
        path.diverged_step.cpu(),
    )
    return path


# --- gradient flow θ' = −∇L_n(θ), the η → 0 limit of SGD, by an adaptive ODE solver ---------------


def gradient_flow(
    problem: Problem,
    theta0: torch.Tensor,
    T: float,
    *,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> torch.Tensor:
    """θ(T) of gradient flow θ' = −∇L_n(θ), θ(0) = θ₀, solved by scipy's DOP853 (order 8).

    The deterministic limit of SGD as η → 0 (with time t = kη); a reference for weak errors.

    Parameters
    ----------
    problem : Problem
    theta0 : Tensor ``(d,)``, the initial point (the problem's dtype)
    T : float > 0, the time horizon
    rtol, atol : float > 0, the solver's relative and absolute tolerances

    Returns
    -------
    Tensor ``(d,)``: θ(T), on the problem's dtype and device

    Examples
    --------
    On a linear regression, θ(T) − θ* = e^{−HT}(θ₀ − θ*) with H = XᵀX/n:

    >>> from sgdsde.problems import LinearRegression
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    >>> p = LinearRegression(X, torch.tensor([1.0, 2.0], dtype=torch.float64))
    >>> th = gradient_flow(p, torch.zeros(2, dtype=torch.float64), 1.0)
    >>> exact = p.minimizer() * (1 - torch.exp(-torch.tensor([0.5, 2.0], dtype=torch.float64)))
    >>> bool(torch.allclose(th, exact, rtol=1e-9))
    True
    """
    import numpy as np
    from scipy.integrate import solve_ivp

    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a sgdsde Problem, got {type(problem).__name__}")
    for name, v in (("T", T), ("rtol", rtol), ("atol", atol)):
        f = _as_float(v)
        if f is None or not math.isfinite(f) or f <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    T_ = float(T)
    th0 = problem._theta(theta0, "theta0")
    if th0.shape != (problem.d,):
        raise ValueError(f"theta0 must have shape (d,) = ({problem.d},), got {tuple(th0.shape)}")

    def rhs(_t: float, th: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(th, dtype=th0.dtype, device=th0.device)
        return -problem.grad(x).detach().cpu().numpy()

    sol = solve_ivp(
        rhs, (0.0, T_), th0.detach().cpu().numpy(), method="DOP853", rtol=rtol, atol=atol
    )
    if not sol.success:
        raise RuntimeError(f"gradient_flow: the ODE solver failed ({sol.message})")
    return torch.as_tensor(sol.y[:, -1], dtype=th0.dtype, device=th0.device)


__all__ += ["gradient_flow"]
