"""Gradient noise of notes §1.8: Σ_emp, exact minibatch covariances, the §1.8.5 estimator, F, spectra.

With G the per-sample gradients ``(n, d)`` at θ and g_n their mean,

* Σ_emp(θ) = (1/n) Σ_i (g_i − g_n)(g_i − g_n)ᵀ (normalised by 1/n, as in notes (7)/(11));
* F(θ) = (G − g_n)/√n ``(n, d)`` is a factor: FᵀF = Σ_emp. A draw of N(0, c·Σ_emp/B) is
  √(c/B)·Fᵀz with z ~ N(0, I_n): O(nd) memory and work per draw, never the d×d matrix;
* Cov[g_B] = Σ_emp/B with replacement and (n−B)/(n−1)·Σ_emp/B without replacement (also for a
  single batch of a reshuffled epoch, which is a uniform B-subset).

Every function accepts θ ``(d,)`` or ``(..., d)`` and keeps the leading shape.
"""

from __future__ import annotations

import math
from numbers import Integral

import torch

from ._validate import as_int
from .problems import Problem
from .sampling import WithoutReplacement, get_scheme, make_sampler, scheme_name

__all__ = [
    "empirical_covariance",
    "finite_population_factor",
    "minibatch_covariance",
    "sample_batch_grads",
    "estimate_covariance",
    "noise_factor",
    "sample_gaussian_noise",
    "top_eigen",
    "sharpness",
]


def _check_problem(problem) -> None:
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an sgdsde.problems.Problem, got {type(problem).__name__}")


def _count(name: str, v, lo: int) -> int:
    """An int (or numpy integer) >= lo, else a ValueError in one wording."""
    try:
        return as_int(name, v, min=lo)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int >= {lo}; got {v!r}") from None


def _check_batch(n: int, batch_size, sampling) -> int:
    sampling = scheme_name(sampling)  # a name or a sampling.SamplingScheme subclass
    batch_size = as_int("batch_size", batch_size, min=1)
    if get_scheme(sampling).distinct and batch_size > n:
        raise ValueError(
            f"batch_size must be in [1, n] = [1, {n}] for {sampling!r}; got {batch_size}"
        )
    return batch_size


def noise_factor(problem: Problem, theta: torch.Tensor) -> torch.Tensor:
    """The factor F = (G − 1 g_nᵀ)/√n of Σ_emp: θ ``(..., d)`` → ``(..., n, d)``, FᵀF = Σ_emp.

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(30, 4))
    >>> F = noise_factor(p, p.theta0)
    >>> F.shape, bool(torch.allclose(F.mT @ F, empirical_covariance(p, p.theta0)))
    (torch.Size([30, 4]), True)
    """
    _check_problem(problem)
    G = problem.per_sample_grads(theta)
    return (G - G.mean(-2, keepdim=True)) / math.sqrt(problem.n)


def empirical_covariance(problem: Problem, theta: torch.Tensor) -> torch.Tensor:
    """Σ_emp(θ) = (1/n) Σ_i (g_i − g_n)(g_i − g_n)ᵀ: θ ``(..., d)`` → ``(..., d, d)``.

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression
    >>> X = torch.tensor([[1.0], [3.0]], dtype=torch.float64)
    >>> p = LinearRegression(X, torch.zeros(2, dtype=torch.float64))
    >>> empirical_covariance(p, torch.ones(1, dtype=torch.float64))   # g_i = x_i², mean 5
    tensor([[16.]], dtype=torch.float64)
    """
    _check_problem(problem)
    G = problem.per_sample_grads(theta)
    C = G - G.mean(-2, keepdim=True)
    return (C.mT @ C) / problem.n


def finite_population_factor(n: int, batch_size: int) -> float:
    """The finite-population correction (n − B)/(n − 1) for 1 ≤ B ≤ n (0 when n = 1).

    The covariance factor of sampling without replacement,
    ``sgdsde.sampling.WithoutReplacement.cov_factor()`` (also that of one reshuffled batch).

    Examples
    --------
    >>> finite_population_factor(10, 1), finite_population_factor(10, 10)
    (1.0, 0.0)
    """
    n = as_int("n", n, min=1)
    batch_size = as_int("batch_size", batch_size)
    if not 1 <= batch_size <= n:
        raise ValueError(
            f"need n >= 1 and batch_size in [1, n] = [1, {n}]; got n={n}, batch_size={batch_size}"
        )
    return WithoutReplacement(n, batch_size).cov_factor()


def _scheme_factor(n: int, batch_size: int, sampling: str) -> float:
    return get_scheme(sampling)(n, batch_size).cov_factor()


def minibatch_covariance(
    problem: Problem, theta: torch.Tensor, batch_size: int, sampling="with_replacement"
) -> torch.Tensor:
    """Exact ``Cov[g_B(θ) | D_n]`` for one batch of ``sampling``: ``(..., d, d)``.

    Σ_emp/B with replacement; (n−B)/(n−1)·Σ_emp/B without replacement and for ``"reshuffle"``
    (one batch of a random permutation is a uniform B-subset).

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(5, 2))
    >>> C = minibatch_covariance(p, p.theta0, 5, "without_replacement")
    >>> float(C.abs().max())                      # B = n: the batch is the data set
    0.0
    """
    _check_problem(problem)
    B = _check_batch(problem.n, batch_size, sampling)
    return empirical_covariance(problem, theta) * (_scheme_factor(problem.n, B, sampling) / B)


def sample_batch_grads(
    problem: Problem,
    theta: torch.Tensor,
    batch_size: int,
    m: int,
    *,
    sampling="with_replacement",
    seed: int = 0,
) -> torch.Tensor:
    """m independent minibatch gradients g_{B_1}(θ), …, g_{B_m}(θ) at a fixed θ: ``(..., m, d)``.

    Each batch is drawn independently (for ``"reshuffle"``: the first batch of an independent
    permutation). A ``torch.Generator`` on the problem's device is seeded with ``seed``.

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(20, 3))
    >>> sample_batch_grads(p, p.theta0, 4, m=7).shape
    torch.Size([7, 3])
    """
    _check_problem(problem)
    B = _check_batch(problem.n, batch_size, sampling)
    m = _count("m (number of batches)", m, 1)
    theta = problem._theta(theta)
    lead = theta.shape[:-1]
    c = math.prod(lead)
    gen = torch.Generator(device=problem.device).manual_seed(as_int("seed", seed, min=0))
    idx = make_sampler(sampling, problem.n, B, c * m, gen)()  # (c*m, B)
    th = theta.reshape(c, 1, problem.d).expand(c, m, problem.d).reshape(c * m, problem.d)
    return problem.batch_grad(th, idx).reshape(*lead, m, problem.d)


def estimate_covariance(
    problem: Problem,
    theta: torch.Tensor,
    batch_size: int,
    m: int,
    *,
    sampling="with_replacement",
    seed: int = 0,
) -> torch.Tensor:
    """The notes' §1.8.5 estimator Σ̂ = B/(m−1) Σ_j (g_{B_j} − ḡ)(g_{B_j} − ḡ)ᵀ (``(..., d, d)``).

    ``m`` independent batches at the same θ (see :func:`sample_batch_grads`).

    E[Σ̂] = B·Cov[g_B], i.e. Σ_emp with replacement and (n−B)/(n−1)·Σ_emp without.

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(20, 3))
    >>> estimate_covariance(p, p.theta0, 4, m=50).shape
    torch.Size([3, 3])
    """
    m = _count("m (number of batches)", m, 2)
    g = sample_batch_grads(problem, theta, batch_size, m, sampling=sampling, seed=seed)
    c = g - g.mean(-2, keepdim=True)
    return (c.mT @ c) * (batch_size / (m - 1))


def sample_gaussian_noise(
    F: torch.Tensor,
    batch_size: int,
    samples: int,
    *,
    sampling="with_replacement",
    n: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draws of N(0, c·FᵀF/B) through the factor: √(c/B)·zF with z ~ N(0, I_n) ``(samples, n)``.

    c = 1 with replacement, (n−B)/(n−1) otherwise (``n`` defaults to ``F.shape[-2]``). F is
    ``(n, d)``; returns ``(samples, d)``. Cost O(samples·n·d); no d×d matrix is formed.

    Examples
    --------
    >>> F = torch.eye(3, dtype=torch.float64)
    >>> sample_gaussian_noise(F, 1, 5, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([5, 3])
    """
    if F.ndim != 2:
        raise ValueError(f"F must have shape (n, d); got {tuple(F.shape)}")
    n_rows = F.shape[0]
    n = n_rows if n is None else n
    B = _check_batch(n, batch_size, sampling)
    samples = _count("samples", samples, 1)
    z = torch.randn(samples, n_rows, generator=generator, dtype=F.dtype, device=F.device)
    return (z @ F) * math.sqrt(_scheme_factor(n, B, sampling) / B)


def _complete(V: torch.Tensor, r: int, gen: torch.Generator) -> torch.Tensor:
    """Keep the first r columns of V ``(d, k)``; replace the rest by an orthonormal completion."""
    d, k = V.shape
    if r >= k:
        return V
    R = torch.randn(d, k - r, generator=gen, dtype=V.dtype, device=gen.device).to(V.device)
    Q, _ = torch.linalg.qr(torch.cat([V[:, :r], R], -1))
    return torch.cat([V[:, :r], Q[:, r:]], -1)


def _randomized_svd(F: torch.Tensor, q: int, niter: int, gen: torch.Generator):
    """Halko–Martinsson–Tropp randomised SVD of F ``(..., n, d)`` with q columns and niter power
    iterations, its Gaussian test matrix drawn from ``gen``: ``(S, V)`` with S ``(..., q)``
    descending and V ``(..., d, q)`` (what ``torch.svd_lowrank`` computes, which draws from the
    global RNG instead)."""
    omega = torch.randn(F.shape[-1], q, generator=gen, dtype=F.dtype, device=gen.device)
    Q, _ = torch.linalg.qr(F @ omega.to(F.device))
    for _ in range(niter):
        Q, _ = torch.linalg.qr(F.mT @ Q)
        Q, _ = torch.linalg.qr(F @ Q)
    _, S, Vh = torch.linalg.svd(Q.mT @ F, full_matrices=False)
    return S, Vh.mT


def top_eigen(
    problem: Problem,
    theta: torch.Tensor,
    k: int,
    *,
    method: str = "auto",
    max_exact: int = 4096,
    generator: torch.Generator | None = None,
):
    """The k largest eigenpairs of Σ_emp(θ) = FᵀF, in descending order, without forming d×d for d > n.

    ``method="exact"``: eigh of the smaller Gram matrix: FFᵀ ``(n, n)`` when n < d (eigenvectors
    v = Fᵀu/√λ), FᵀF ``(d, d)`` otherwise. Eigenvectors of (numerically) zero eigenvalues (Σ_emp has
    rank ≤ n − 1) are an orthonormal completion (seeded, arbitrary within the null space).
    ``method="lowrank"``: a randomised SVD of F (Halko–Martinsson–Tropp, k + 10 columns, 4 power
    iterations; approximate). ``"auto"`` uses exact when min(n, d) ≤ ``max_exact``. Both draw
    their random numbers from ``generator`` only (never from torch's global RNG), so a call is
    reproducible.

    Parameters
    ----------
    problem : Problem
    theta : Tensor ``(..., d)``
    k : int in [1, d]
    method : {"auto", "exact", "lowrank"}
    max_exact : int
        Largest min(n, d) that ``"auto"`` solves exactly.
    generator : torch.Generator, optional
        Source of the random test matrix (``"lowrank"``) and of the null-space completion
        (``"exact"``); default: seed 0 on θ's device.

    Returns
    -------
    eigenvalues : Tensor ``(..., k)``, descending
    eigenvectors : Tensor ``(..., d, k)``, orthonormal columns

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(10, 30))          # n < d: Gram path
    >>> lam, V = top_eigen(p, p.theta0, 3)
    >>> S = empirical_covariance(p, p.theta0)
    >>> bool(torch.allclose(S @ V, V * lam, atol=1e-10)), lam.shape, V.shape
    (True, torch.Size([3]), torch.Size([30, 3]))
    """
    _check_problem(problem)
    n, d = problem.n, problem.d
    if isinstance(k, bool) or not isinstance(k, Integral) or not 1 <= k <= d:
        raise ValueError(f"k must be an int in [1, d] = [1, {d}]; got {k!r}")
    if method not in ("auto", "exact", "lowrank"):
        raise ValueError(f"method must be 'auto', 'exact' or 'lowrank'; got {method!r}")
    F = noise_factor(problem, theta)
    if method == "auto":
        method = "exact" if min(n, d) <= max_exact else "lowrank"
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None; got {type(generator)}")
    gen = generator if generator is not None else torch.Generator(F.device).manual_seed(0)
    if method == "lowrank":
        if k > min(n, d):
            raise ValueError(f"method='lowrank' needs k <= min(n, d) = {min(n, d)}; got {k}")
        S, V = _randomized_svd(F, min(k + 10, n, d), 4, gen)
        return S[..., :k] ** 2, V[..., :k]
    if n < d:
        lam, U = torch.linalg.eigh(F @ F.mT)  # ascending, (..., n)
        lam, U = lam.flip(-1), U.flip(-1)
        kk = min(k, n)
        lam, U = lam[..., :kk], U[..., :kk]
        tol = max(n, d) * torch.finfo(F.dtype).eps * lam[..., :1].clamp_min(0)
        pos = lam > tol
        V = (F.mT @ U) / lam.clamp_min(torch.finfo(F.dtype).tiny).sqrt().unsqueeze(-2)
        lam = torch.where(pos, lam, torch.zeros_like(lam))
        if kk < k:
            lam = torch.cat([lam, lam.new_zeros(*lam.shape[:-1], k - kk)], -1)
            V = torch.cat([V, V.new_zeros(*V.shape[:-1], k - kk)], -1)
            pos = torch.cat([pos, pos.new_zeros(*pos.shape[:-1], k - kk)], -1)
        if not bool(pos.all()):  # rare: complete the null-space columns, one θ at a time
            lead = V.shape[:-2]
            Vf, rf = V.reshape(-1, d, k), pos.reshape(-1, k).sum(-1)
            V = torch.stack([_complete(Vf[i], int(rf[i]), gen) for i in range(Vf.shape[0])])
            V = V.reshape(*lead, d, k)
        return lam, V
    lam, V = torch.linalg.eigh(F.mT @ F)
    return lam.flip(-1)[..., :k].clamp_min(0), V.flip(-1)[..., :k]


def sharpness(
    problem: Problem,
    theta: torch.Tensor,
    iters: int = 20,
    v0: torch.Tensor | None = None,
    *,
    generator: torch.Generator | None = None,
) -> tuple[float, torch.Tensor]:
    """The sharpness λ_max(∇²L_n(θ)) by power iteration on Hessian–vector products.

    Each iteration is one forward-mode derivative of ``problem.grad`` (``torch.func.jvp``), so the
    Hessian ``(d, d)`` is never formed: u = v/‖v‖, Hu = ∂_ε g_n(θ + εu), λ = uᵀHu, v ← Hu.
    Power iteration converges to the eigenvalue of largest *magnitude*; that is λ_max when the
    Hessian is positive semi-definite or its top eigenvalue dominates (as near a minimum), and the
    rate is the ratio of the two largest magnitudes. Warm-start along a trajectory by passing the
    returned vector as ``v0``.

    Parameters
    ----------
    problem : Problem
        ``grad`` must be differentiable by ``torch.func`` (LinearRegression, TorchModel, …).
    theta : Tensor ``(d,)``
    iters : int ≥ 1
    v0 : Tensor ``(d,)``, optional
        Start vector (need not be normalised); default a seeded Gaussian vector
        (``generator``, or seed 0 on θ's device).

    Returns
    -------
    lam : float
        The Rayleigh quotient uᵀHu of the last iteration.
    v : Tensor ``(d,)``
        The unit vector Hu/‖Hu‖ of the last iteration (the eigenvector estimate).

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(50, 4))
    >>> lam, v = sharpness(p, p.theta0, iters=200)
    >>> abs(lam - float(torch.linalg.eigvalsh(p.hessian(p.theta0)).max())) < 1e-8, v.shape
    (True, torch.Size([4]))
    """
    _check_problem(problem)
    if not isinstance(iters, Integral) or isinstance(iters, bool) or iters < 1:
        raise ValueError(f"iters must be an int >= 1; got {iters!r}")
    if not isinstance(theta, torch.Tensor) or theta.shape != (problem.d,):
        raise ValueError(f"theta must be a tensor of shape (d,) = ({problem.d},)")
    if v0 is None:
        gen = (
            generator
            if generator is not None
            else torch.Generator(device=theta.device).manual_seed(0)
        )
        v = torch.randn(problem.d, generator=gen, dtype=theta.dtype, device=gen.device).to(
            theta.device
        )
    else:
        if not isinstance(v0, torch.Tensor) or v0.shape != (problem.d,):
            raise ValueError(f"v0 must be None or a tensor of shape (d,) = ({problem.d},)")
        v = v0.to(dtype=theta.dtype, device=theta.device)
    lam = float("nan")
    for _ in range(iters):
        vn = v.norm()
        if not bool(torch.isfinite(vn)) or float(vn) == 0:
            raise ValueError(
                "sharpness: the power iteration vector vanished or is not finite (Hv = 0?)"
            )
        u = v / vn
        hv = torch.func.jvp(problem.grad, (theta,), (u,))[1]
        lam, v = float(hv @ u), hv
    vn = v.norm()
    return lam, (v / vn if float(vn) > 0 else v)
