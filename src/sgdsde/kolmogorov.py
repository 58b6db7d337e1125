"""Exact laws of SGD and of its SDEs on a circle: transfer matrices and backward generators.

For a loss that is :math:`2\\pi`-periodic in a scalar :math:`\\theta` (per-sample losses that are
trigonometric polynomials, :class:`TrigLoss`), SGD and the SDEs of notes (23) map periodic
functions to periodic functions, so :math:`\\theta \\bmod 2\\pi` is a Markov chain on the circle and
every expectation :math:`\\mathbb E f(\\theta_k)` of a periodic :math:`f` is computed without
sampling, to spectral accuracy on an odd grid of :math:`M` points :math:`\\theta_j = 2\\pi j/M`:

* SGD: :func:`sgd_transfer` is the matrix :math:`P` with
  :math:`(Pv)(\\theta_j) = \\mathbb E\\,v(\\theta_j - \\eta g_{\\mathcal B}(\\theta_j))`, the mean over
  every batch of trigonometric interpolation at the moved points (finite sum), or, for additive
  per-sample noise :math:`g = L' + \\zeta` with a known characteristic function (:class:`GaussianNoise`,
  :class:`StudentNoise`), interpolation after the exact Fourier multiplier of the noise.
* SDE: :func:`generator` is the spectral collocation of
  :math:`\\mathcal L v = b v' + \\tfrac12 a v''` with :math:`b = -L'` (order 1, notes (23)) or
  :math:`b = -L' - \\tfrac\\eta2 L''L'` (the order-2 modified equation) and
  :math:`a = \\eta\\Sigma(\\theta)/B`; :func:`sde_transfer` is its exponential over one step's time
  (the backward Kolmogorov equation solved exactly in time).
* :func:`expectations` advances the law of either chain from a point mass with
  :class:`~sgdsde.dynamics.steppers.transfer.Transfer` and returns :math:`\\mathbb E f` after every
  step.

Examples
--------
>>> import numpy as np
>>> from sgdsde.kolmogorov import TrigLoss, fourier_grid, sgd_transfer, expectations
>>> loss = TrigLoss([[1.0], [1.0]], [[0.5], [-0.5]])     # ℓ_i = −cos θ ∓ ½ sin θ
>>> grid = fourier_grid(33)
>>> Ef = expectations(sgd_transfer(loss, 0.1, 33), np.cos(grid), 1.0, 3)
>>> Ef.shape, round(float(Ef[0]), 12) == round(float(np.cos(1.0)), 12)
((4,), True)
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import scipy.linalg as sla
import scipy.special as ssp
import torch

from .dynamics import integrate
from .dynamics.steppers.transfer import Transfer

__all__ = [
    "TrigLoss",
    "GaussianNoise",
    "StudentNoise",
    "fourier_grid",
    "interpolation_matrix",
    "derivative_matrix",
    "sgd_transfer",
    "generator",
    "sde_transfer",
    "expectations",
    "law_path",
    "backward_path",
    "MAX_BATCHES",
]

#: Largest number of ordered batches (n^B) that :func:`sgd_transfer` enumerates.
MAX_BATCHES = 4096


def _points(M) -> int:
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 9 or M % 2 == 0:
        raise ValueError(f"M (grid points) must be an odd integer >= 9, got {M!r}")
    return int(M)


def _positive(name: str, x) -> float:
    x = float(x)
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {x!r}")
    return x


def _batch(batch_size) -> int:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    return int(batch_size)


class TrigLoss:
    """Per-sample losses :math:`\\ell_i(\\theta) = -\\sum_{k=1}^K (C_{ik}\\cos k\\theta + S_{ik}\\sin k\\theta)`.

    Smooth and :math:`2\\pi`-periodic, so every derivative of every per-sample gradient is bounded
    (the assumptions of the weak-approximation theorem hold).

    Parameters
    ----------
    cos_coef, sin_coef : array ``(n, K)``
        :math:`C` and :math:`S`; row i is sample i, column k-1 the frequency k.

    Examples
    --------
    >>> import numpy as np
    >>> loss = TrigLoss([[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]])
    >>> loss.n, loss.degree
    (2, 2)
    >>> th = np.array([0.3])
    >>> bool(np.allclose(loss.grad(th), (np.sin(0.3) + 2 * np.sin(0.6)) / 2))
    True
    >>> TrigLoss([[1.0]], [[1.0, 2.0]])
    Traceback (most recent call last):
    ...
    ValueError: cos_coef and sin_coef must be finite arrays of the same shape (n, K), got (1, 1) and (1, 2)
    """

    def __init__(self, cos_coef, sin_coef):
        C, S = np.asarray(cos_coef, dtype=float), np.asarray(sin_coef, dtype=float)
        if C.ndim != 2 or C.shape != S.shape or not (np.isfinite(C).all() and np.isfinite(S).all()):
            raise ValueError(
                "cos_coef and sin_coef must be finite arrays of the same shape (n, K), "
                f"got {C.shape} and {S.shape}"
            )
        self.C, self.S = C, S
        self.n, self.degree = C.shape

    def derivative(self, theta, order: int) -> np.ndarray:
        """``(n, len θ)``: the ``order``-th derivative of every :math:`\\ell_i` at ``theta``.

        Examples
        --------
        >>> import numpy as np
        >>> TrigLoss([[2.0]], [[0.0]]).derivative(np.array([0.0]), 2).tolist()   # (−2 cos)'' = 2 cos
        [[2.0]]
        """
        th = np.atleast_1d(np.asarray(theta, dtype=float))
        k = np.arange(1, self.degree + 1, dtype=float)
        ph = k[:, None] * th[None, :] + order * math.pi / 2  # (K, len θ)
        kk = (k**order)[None, :, None]
        return -(kk * (self.C[:, :, None] * np.cos(ph) + self.S[:, :, None] * np.sin(ph))).sum(1)

    def per_sample_grads(self, theta) -> np.ndarray:
        """``(n, len θ)``: :math:`g_i(\\theta) = \\ell_i'(\\theta)`.

        Examples
        --------
        >>> TrigLoss([[1.0]], [[0.0]]).per_sample_grads([math.pi / 2]).tolist()
        [[1.0]]
        """
        return self.derivative(theta, 1)

    def grad(self, theta) -> np.ndarray:
        """:math:`L'(\\theta)`, the mean of the per-sample gradients.

        Examples
        --------
        >>> TrigLoss([[1.0], [3.0]], [[0.0], [0.0]]).grad([math.pi / 2]).tolist()
        [2.0]
        """
        return self.derivative(theta, 1).mean(0)

    def hess(self, theta) -> np.ndarray:
        """:math:`L''(\\theta)`.

        Examples
        --------
        >>> TrigLoss([[1.0]], [[0.0]]).hess([0.0]).tolist()
        [1.0]
        """
        return self.derivative(theta, 2).mean(0)

    def noise_var(self, theta) -> np.ndarray:
        """:math:`\\Sigma(\\theta) = \\frac1n\\sum_i (g_i - L')^2`, notes (16) in one dimension.

        Examples
        --------
        >>> TrigLoss([[1.0], [-1.0]], [[0.0], [0.0]]).noise_var([math.pi / 2]).tolist()
        [1.0]
        """
        return self.derivative(theta, 1).var(0)


class GaussianNoise:
    """Additive per-sample gradient noise :math:`\\zeta \\sim \\mathcal N(0, \\mathrm{var})`.

    Examples
    --------
    >>> round(float(GaussianNoise(2.0).cf(np.array([1.0]))[0]), 6) == round(math.exp(-1.0), 6)
    True
    """

    def __init__(self, var: float = 1.0):
        self.var = _positive("var", var)

    def cf(self, u) -> np.ndarray:
        return np.exp(-0.5 * self.var * np.asarray(u, dtype=float) ** 2)


class StudentNoise:
    """Additive per-sample gradient noise :math:`\\zeta = c\\,T`, :math:`T` Student-t with ``nu`` > 2
    degrees of freedom, scaled to variance ``var``. :math:`\\mathbb E|\\zeta|^q < \\infty` iff
    :math:`q <` ``nu``: with ``nu`` < 3 the third absolute moment is infinite.

    Examples
    --------
    >>> s = StudentNoise(2.5)
    >>> u = np.array([0.0, 1e-5])
    >>> c = s.cf(u)                                   # 1 − var u²/2 + O(|u|^ν)
    >>> bool(c[0] == 1.0 and abs((1 - c[1]) / 5e-11 - 1) < 0.01)
    True
    >>> StudentNoise(2.0)
    Traceback (most recent call last):
    ...
    ValueError: nu must be a finite number > 2 (finite variance), got 2.0
    """

    def __init__(self, nu: float, var: float = 1.0):
        nu = float(nu)
        if not math.isfinite(nu) or nu <= 2:
            raise ValueError(f"nu must be a finite number > 2 (finite variance), got {nu!r}")
        self.nu, self.var = nu, _positive("var", var)
        self.scale = math.sqrt(self.var * (nu - 2) / nu)

    def cf(self, u) -> np.ndarray:
        z = math.sqrt(self.nu) * self.scale * np.abs(np.asarray(u, dtype=float))
        h = self.nu / 2
        out = np.ones_like(z)
        pos = z > 0
        zp = z[pos]
        log_cf = (
            np.log(ssp.kve(h, zp)) - zp + h * np.log(zp) - math.lgamma(h) - (h - 1) * math.log(2.0)
        )
        out[pos] = np.exp(log_cf)
        return out


def fourier_grid(M: int) -> np.ndarray:
    """The grid :math:`\\theta_j = 2\\pi j/M`, ``j = 0..M-1`` (``M`` odd).

    Examples
    --------
    >>> fourier_grid(9)[:2].round(4).tolist()
    [0.0, 0.6981]
    """
    M = _points(M)
    return 2 * math.pi * np.arange(M) / M


def interpolation_matrix(M: int, points) -> np.ndarray:
    """``(len(points), M)``: values at ``points`` of the trigonometric interpolant of grid values
    (the Dirichlet kernel :math:`\\sin(M\\delta/2)/(M\\sin(\\delta/2))`).

    Examples
    --------
    >>> import numpy as np
    >>> g = fourier_grid(9)
    >>> x = np.array([0.1, 2.0])
    >>> bool(np.allclose(interpolation_matrix(9, x) @ np.sin(3 * g), np.sin(3 * x)))
    True
    """
    M = _points(M)
    x = np.asarray(points, dtype=float)
    if not np.isfinite(x).all():
        raise ValueError("points must be finite")
    delta = x.reshape(-1, 1) - fourier_grid(M)[None, :]
    s = np.sin(delta / 2)
    small = np.abs(s) < 1e-14
    out = np.where(small, 1.0, np.sin(M * delta / 2) / (M * np.where(small, 1.0, s)))
    return out.reshape(*x.shape, M)


def _fourier_multiplier(M: int, symbol: np.ndarray) -> np.ndarray:
    """Real ``(M, M)`` matrix of the multiplier ``e^{imθ} ↦ symbol[m] e^{imθ}`` on grid values."""
    return np.fft.ifft(symbol[:, None] * np.fft.fft(np.eye(M), axis=0), axis=0).real


def derivative_matrix(M: int, order: int = 1) -> np.ndarray:
    """``(M, M)`` spectral differentiation (exact on trigonometric polynomials of degree < M/2).

    Examples
    --------
    >>> import numpy as np
    >>> g = fourier_grid(11)
    >>> bool(np.allclose(derivative_matrix(11, 2) @ np.cos(2 * g), -4 * np.cos(2 * g)))
    True
    """
    M = _points(M)
    m = np.fft.fftfreq(M, 1.0 / M)
    return _fourier_multiplier(M, (1j * m) ** order)


def sgd_transfer(loss: TrigLoss, lr: float, M: int, batch_size: int = 1, noise=None) -> np.ndarray:
    """``(M, M)`` transfer matrix of one SGD step on grid functions:
    :math:`(Pv)(\\theta_j) = \\mathbb E\\,v(\\theta_j - \\eta\\,g_{\\mathcal B}(\\theta_j))`.

    Parameters
    ----------
    loss : TrigLoss
    lr : float > 0
    M : odd int >= 9
    batch_size : int >= 1
        Indices drawn with replacement; without ``noise``, all ``n**batch_size`` ordered batches are
        enumerated (at most :data:`MAX_BATCHES`).
    noise : GaussianNoise or StudentNoise, optional
        Online SGD with :math:`g_{\\mathcal B} = L' + \\bar\\zeta`, :math:`\\bar\\zeta` the mean of
        ``batch_size`` i.i.d. draws; ``None``: the finite sum of ``loss``.

    Examples
    --------
    >>> import numpy as np
    >>> loss = TrigLoss([[1.0], [0.0]], [[0.0], [1.0]])
    >>> P = sgd_transfer(loss, 0.1, 21)
    >>> bool(np.allclose(P.sum(1), 1.0))                  # constants are kept
    True
    >>> sgd_transfer(loss, 0.1, 21, batch_size=13)
    Traceback (most recent call last):
    ...
    ValueError: batch_size=13 gives 8192 ordered batches of n=2 samples (at most MAX_BATCHES=4096); use batch_size <= 12
    """
    lr, M, B = _positive("lr", lr), _points(M), _batch(batch_size)
    grid = fourier_grid(M)
    if noise is not None:
        m = np.fft.fftfreq(M, 1.0 / M)
        W = _fourier_multiplier(M, noise.cf(lr * m / B) ** B)
        return interpolation_matrix(M, grid - lr * loss.grad(grid)) @ W
    if loss.n**B > MAX_BATCHES:
        raise ValueError(
            f"batch_size={B} gives {loss.n**B} ordered batches of n={loss.n} samples "
            f"(at most MAX_BATCHES={MAX_BATCHES}); use batch_size <= "
            f"{int(math.log(MAX_BATCHES) / math.log(loss.n)) if loss.n > 1 else B}"
        )
    G = loss.per_sample_grads(grid)  # (n, M)
    P = np.zeros((M, M))
    for batch in itertools.product(range(loss.n), repeat=B):
        P += interpolation_matrix(M, grid - lr * G[list(batch)].mean(0))
    return P / loss.n**B


def generator(
    loss: TrigLoss, lr: float, M: int, batch_size: int = 1, order: int = 1, noise=None
) -> np.ndarray:
    """``(M, M)`` collocation of :math:`\\mathcal L v = b v' + \\tfrac12 a v''`, the generator of the
    SDE (23) (``order=1``, :math:`b=-L'`) or of the modified equation (``order=2``,
    :math:`b=-L'-\\tfrac\\eta2L''L'`), with :math:`a=\\eta\\Sigma/B` (``Σ = noise.var`` if given).

    Examples
    --------
    >>> import numpy as np
    >>> loss = TrigLoss([[1.0], [-1.0]], [[0.0], [0.0]])    # L = 0, Σ = sin² θ
    >>> g = fourier_grid(15)
    >>> A = generator(loss, 0.5, 15)
    >>> bool(np.allclose(A @ np.cos(g), -0.25 * np.sin(g) ** 2 * np.cos(g)))
    True
    """
    lr, M, B = _positive("lr", lr), _points(M), _batch(batch_size)
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    grid = fourier_grid(M)
    b = -loss.grad(grid)
    if order == 2:
        b = b - lr / 2 * loss.hess(grid) * loss.grad(grid)
    sigma = np.full(M, noise.var) if noise is not None else loss.noise_var(grid)
    a = lr * sigma / B
    return b[:, None] * derivative_matrix(M, 1) + 0.5 * a[:, None] * derivative_matrix(M, 2)


def sde_transfer(
    loss: TrigLoss,
    lr: float,
    M: int,
    batch_size: int = 1,
    order: int = 1,
    noise=None,
    time: float | None = None,
) -> np.ndarray:
    """``(M, M)``: :math:`e^{t\\mathcal L}`, the SDE's transfer matrix over ``time`` (default ``lr``,
    one SGD step), i.e. the backward Kolmogorov equation :math:`\\partial_t u = \\mathcal L u` solved
    exactly in time on the grid.

    Examples
    --------
    >>> import numpy as np
    >>> loss = TrigLoss([[1.0], [-1.0]], [[0.0], [0.0]])
    >>> bool(np.allclose(sde_transfer(loss, 0.1, 15).sum(1), 1.0))
    True
    """
    t = lr if time is None else _positive("time", time)
    return sla.expm(t * generator(loss, lr, M, batch_size, order, noise))


def _matrix(P) -> tuple[np.ndarray, int]:
    P = np.asarray(P, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise ValueError(f"P must be a square (M, M) matrix, got shape {P.shape}")
    return P, _points(P.shape[0])


def law_path(P, theta0: float, steps: int) -> np.ndarray:
    """``(steps + 1, M)``: the law ``r_k`` (``r_k v = E v(θ_k)``) of the chain with transfer matrix
    ``P`` from a point mass at ``theta0``, advanced by ``sgdsde.dynamics.integrate``.

    Examples
    --------
    >>> import numpy as np
    >>> law_path(np.eye(9), 0.0, 2).shape
    (3, 9)
    """
    P, M = _matrix(P)
    if not math.isfinite(float(theta0)):
        raise ValueError(f"theta0 must be finite, got {theta0!r}")
    r0 = torch.from_numpy(interpolation_matrix(M, np.array([float(theta0)]))[0])
    return integrate(Transfer(torch.from_numpy(P)), r0, int(steps)).x[:, 0, :].numpy()


def backward_path(P, f_values, steps: int) -> np.ndarray:
    """``(steps + 1, M)``: row ``j`` is ``P^j f``, i.e. :math:`u` at ``j`` steps before the horizon
    (the backward recursion :math:`u_k = P u_{k+1}`, advanced by the dynamics core).

    Examples
    --------
    >>> import numpy as np
    >>> backward_path(2 * np.eye(9), np.ones(9), 2)[:, 0].tolist()
    [1.0, 2.0, 4.0]
    """
    P, M = _matrix(P)
    f = np.asarray(f_values, dtype=float)
    if f.shape != (M,):
        raise ValueError(f"f_values must have shape ({M},) like P, got {f.shape}")
    return (
        integrate(Transfer(torch.from_numpy(P.T.copy())), torch.from_numpy(f), int(steps))
        .x[:, 0, :]
        .numpy()
    )


def expectations(P, f_values, theta0: float, steps: int) -> np.ndarray:
    """``(steps + 1,)``: :math:`\\mathbb E f(\\theta_k)`, ``k = 0..steps``, for the chain with transfer
    matrix ``P`` started at ``theta0`` (:func:`law_path` applied to ``f``).

    Examples
    --------
    >>> import numpy as np
    >>> g = fourier_grid(9)
    >>> expectations(np.eye(9), np.cos(g), 0.0, 2).round(12).tolist()
    [1.0, 1.0, 1.0]
    """
    P, M = _matrix(P)
    f = np.asarray(f_values, dtype=float)
    if f.shape != (M,):
        raise ValueError(f"f_values must have shape ({M},) like P, got {f.shape}")
    return law_path(P, theta0, steps) @ f
