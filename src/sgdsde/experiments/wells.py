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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..dynamics import FirstExit, Stepper, integrate
from ..levy import check_alpha, symmetric_stable, tail_index_mohammadi
from ..problems import Problem
from ..sampling import with_replacement

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
]


def _pos(name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {v!r}")
    return float(v)


def _posint(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name} must be an int >= 1; got {v!r}")
    return v


def levy_measure_constant(alpha: float) -> float:
    """c_α = Γ(1+α) sin(πα/2)/π: the Lévy measure of S_α is c_α |y|^{−1−α} dy.

    For the standard symmetric α-stable law (E e^{iuS} = e^{−|u|^α}), P(S > x) ~ (c_α/α) x^{−α}
    as x → ∞. c_1 = 1/π (Cauchy), c_2 = 0 (Gaussian: no jumps).

    Examples
    --------
    >>> round(levy_measure_constant(1.0) * math.pi, 12)
    1.0
    >>> levy_measure_constant(2.0) < 1e-16
    True
    """
    a = check_alpha(alpha)
    return math.gamma(1.0 + a) * math.sin(math.pi * a / 2.0) / math.pi


class DoubleWell:
    """Piecewise double well U(x) = h·f(x/w_±) with minima −w₋, +w₊, saddle 0 and barrier h.

    Parameters
    ----------
    depth : float > 0
        Barrier height h = U(0) − U(±w).
    width : float > 0 or (float, float)
        w (both wells) or (w₋, w₊): the distances from the minima to the saddle.

    Examples
    --------
    >>> U = DoubleWell(depth=2.0, width=(1.0, 2.0))
    >>> x = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64)
    >>> U.potential(x).tolist(), U.grad(x).abs().tolist(), U.minima
    ([0.0, 2.0, 0.0], [0.0, 0.0, 0.0], (-1.0, 2.0))
    """

    def __init__(self, depth: float = 1.0, width: float | tuple[float, float] = 1.0):
        self.depth = _pos("depth", depth)
        if isinstance(width, (tuple, list)):
            if len(width) != 2:
                raise ValueError(
                    f"width must be a number or a pair (w_left, w_right); got {width!r}"
                )
            wl, wr = (_pos("width[0]", width[0]), _pos("width[1]", width[1]))
        else:
            wl = wr = _pos("width", width)
        self.width = (wl, wr)

    @property
    def minima(self) -> tuple[float, float]:
        """(−w₋, +w₊)."""
        return (-self.width[0], self.width[1])

    saddle = 0.0

    def _w(self, x: torch.Tensor) -> torch.Tensor:
        wl, wr = self.width
        return torch.where(x < 0, torch.full_like(x, wl), torch.full_like(x, wr))

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        """U(x), elementwise."""
        y = x / self._w(x)
        a = y.abs()
        return self.depth * torch.where(a <= 1, (1 - y * y) ** 2, 4 * (a - 1) ** 2)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """U'(x), elementwise."""
        w = self._w(x)
        y = x / w
        a = y.abs()
        f1 = torch.where(a <= 1, -4 * y * (1 - y * y), 8 * torch.sign(y) * (a - 1))
        return self.depth * f1 / w

    def curvature(self, x: torch.Tensor) -> torch.Tensor:
        """U''(x), elementwise (one-sided at the kinks x = 0, ±w: the value of the piece x lies in)."""
        w = self._w(x)
        y = x / w
        f2 = torch.where(y.abs() <= 1, -4 + 12 * y * y, torch.full_like(y, 8.0))
        return self.depth * f2 / (w * w)

    @property
    def max_curvature(self) -> float:
        """sup |U''| = 8h/min(w)²: Euler with step dt is stable for dt·8h/min(w)² < 2."""
        return 8.0 * self.depth / min(self.width) ** 2

    def __repr__(self) -> str:
        return f"DoubleWell(depth={self.depth}, width={self.width})"


class WellProblem(Problem):
    """Finite-sum problem ℓ_i(θ) = U(θ) − a_i θ over θ ∈ R (d = 1), with Σ a_i = 0 so L_n = U.

    g_i(θ) = U'(θ) − a_i, g_n = U'(θ), g_B = U'(θ) − mean_{i∈B} a_i and the noise
    ξ = g_n − g_B = mean_{i∈B} a_i does not depend on θ; Σ_emp = mean(a_i²).

    Parameters
    ----------
    potential : DoubleWell (or any object with ``potential``, ``grad``, ``curvature``, ``minima``)
    a : Tensor ``(n,)``, floating; it is centred (its mean subtracted) on construction
    theta0 : Tensor ``(1,)``, optional (default: the left minimum)

    Examples
    --------
    >>> U = DoubleWell()
    >>> p = WellProblem(U, torch.tensor([1.0, -1.0, 3.0, -3.0], dtype=torch.float64))
    >>> p.n, p.d, p.theta0.tolist(), float(p.grad(torch.tensor([0.5], dtype=torch.float64)))
    (4, 1, [-1.0], -1.5)
    >>> p.batch_grad(p.theta0.expand(2, 1), torch.tensor([[0, 2], [1, 1]])).flatten().tolist()
    [-2.0, 1.0]
    """

    def __init__(self, potential: DoubleWell, a: torch.Tensor, theta0: torch.Tensor | None = None):
        if not isinstance(a, torch.Tensor):
            raise TypeError(f"a must be a torch.Tensor, got {type(a).__name__}")
        if a.ndim != 1 or a.shape[0] < 1 or not a.is_floating_point():
            raise ValueError(
                f"a must be a floating tensor of shape (n,) with n >= 1; got {tuple(a.shape)}, {a.dtype}"
            )
        if not bool(torch.isfinite(a).all()):
            raise ValueError("a must be finite")
        self.U = potential
        self.a = a - a.mean()
        self.n, self.d = a.shape[0], 1
        self.dtype, self.device = a.dtype, a.device
        self.theta0 = torch.tensor([potential.minima[0]], dtype=self.dtype, device=self.device)
        if theta0 is not None:
            self.theta0 = self._theta(theta0, "theta0").reshape(1).clone()

    @property
    def sigma2(self) -> float:
        """Σ_emp = (1/n) Σ a_i² (the one-sample noise variance, 1/n normalisation)."""
        return float((self.a**2).mean())

    def per_sample_losses(self, theta):
        theta = self._theta(theta)
        return self.U.potential(theta) - theta * self.a

    def per_sample_grads(self, theta):
        theta = self._theta(theta)
        return (self.U.grad(theta) - self.a).unsqueeze(-1)

    def grad(self, theta):
        theta = self._theta(theta)
        return self.U.grad(theta) - self.a.mean()

    def batch_grad(self, theta, idx):
        theta = self._theta(theta)
        idx = self._idx(idx, theta)
        shape = self._batch_shape(theta, idx)
        return (self.U.grad(theta) - self.a[idx].mean(-1, keepdim=True)).expand(*shape, 1)

    def hessian(self, theta):
        theta = self._theta(theta)
        return self.U.curvature(theta).unsqueeze(-1)


def well_problem(
    potential: DoubleWell,
    n: int,
    *,
    noise: str = "stable",
    alpha: float = 1.5,
    scale: float = 1.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device=None,
) -> WellProblem:
    """A :class:`WellProblem` with data a_i drawn i.i.d. (then centred).

    Parameters
    ----------
    potential : DoubleWell
    n : int ≥ 2
    noise : ``"stable"`` (a_i = scale·S_α, heavy tails) or ``"gaussian"`` (a_i = scale·N(0, 1))
    alpha : float in (0, 2], the stability index for ``noise="stable"``
    scale : float > 0
    seed : int (CPU generator: the same data on every device)
    dtype, device : of the data

    Examples
    --------
    >>> p = well_problem(DoubleWell(), 1000, noise="gaussian", seed=0)
    >>> p.n, abs(float(p.a.mean())) < 1e-12, 0.8 < p.sigma2 < 1.2
    (1000, True, True)
    """
    n = _posint("n", n)
    if n < 2:
        raise ValueError(f"n must be >= 2; got {n}")
    scale = _pos("scale", scale)
    g = torch.Generator().manual_seed(int(seed))
    if noise == "stable":
        a = symmetric_stable(alpha, (n,), scale=scale, generator=g, dtype=torch.float64)
    elif noise == "gaussian":
        a = scale * torch.randn(n, generator=g, dtype=torch.float64)
    else:
        raise ValueError(f"noise must be 'stable' or 'gaussian'; got {noise!r}")
    return WellProblem(potential, a.to(dtype=dtype, device=device))


def _well_grad(x: torch.Tensor, h, wl, wr) -> torch.Tensor:
    """U'(x) for depth h and widths (wl, wr), all broadcastable to x (floats or tensors)."""
    w = (
        torch.where(x < 0, wl, wr)
        if isinstance(wl, torch.Tensor)
        else torch.where(x < 0, torch.full_like(x, wl), torch.full_like(x, wr))
    )
    y = x / w
    a = y.abs()
    f1 = torch.where(a <= 1, -4 * y * (1 - y * y), 8 * torch.sign(y) * (a - 1))
    return h * f1 / w


def _stable_alpha_tensor(alpha: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Chambers–Mallows–Stuck draws with one α per entry (α ∈ (0, 2], α ≠ 1 handled exactly).

    Same formula as :func:`sgdsde.levy.symmetric_stable` (E e^{iuS} = e^{−|u|^α}), vectorised over α.
    """
    v = torch.empty_like(alpha).uniform_(-math.pi / 2, math.pi / 2, generator=gen)
    w = (
        torch.empty_like(alpha)
        .exponential_(generator=gen)
        .clamp_(min=torch.finfo(alpha.dtype).tiny)
    )
    tiny = torch.finfo(alpha.dtype).tiny
    one = (alpha - 1).abs() < 1e-12
    a = torch.where(one, torch.full_like(alpha, 0.5), alpha)  # placeholder where α = 1
    t = (torch.cos((1 - a) * v).clamp(min=tiny) / w).log() * ((1 - a) / a) - torch.cos(v).clamp(
        min=tiny
    ).log() / a
    s = torch.sin(a * v) * t.exp()
    return torch.where(one, torch.tan(v), s)


@dataclass
class EscapeTimes:
    """First-passage times of G configurations × ``chains`` chains, in steps (``inf``: not escaped).

    Attributes
    ----------
    steps : Tensor ``(G, chains)`` float64 (CPU): the first k with x_k ≥ target, or inf
    max_steps : int, the horizon of the run
    dt : Tensor ``(G,)`` float64, time per step (η for SGD, the Euler step for an SDE)

    Examples
    --------
    >>> e = EscapeTimes(torch.tensor([[2.0, 4.0], [1.0, math.inf]]), max_steps=5, dt=torch.tensor([0.1, 0.1]))
    >>> e.escaped.tolist(), e.censored_fraction.tolist()
    ([2, 1], [0.0, 0.5])
    """

    steps: torch.Tensor
    max_steps: int
    dt: torch.Tensor

    @property
    def chains(self) -> int:
        return int(self.steps.shape[-1])

    @property
    def escaped(self) -> torch.Tensor:
        """Number of chains that escaped within the horizon, ``(G,)``."""
        return torch.isfinite(self.steps).sum(-1)

    @property
    def censored_fraction(self) -> torch.Tensor:
        return 1.0 - self.escaped.to(torch.float64) / self.chains

    def mean_steps(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean escape time in steps, its standard error), each ``(G,)``.

        Without censoring: the sample mean and s/√N. With censored chains: the maximum-likelihood
        mean of an exponential law, Σ min(T_i, K)/#escaped, with SE mean/√#escaped (exit times
        from a deep basin are asymptotically exponential in both the Kramers and the Lévy regime).
        inf where no chain escaped.

        Examples
        --------
        >>> e = EscapeTimes(torch.tensor([[1.0, 3.0, math.inf, 2.0]]), max_steps=4, dt=torch.tensor([0.1]))
        >>> [round(float(v), 6) for v in e.mean_steps()]      # (1 + 3 + 4 + 2)/3 and that over √3
        [3.333333, 1.924501]
        """
        T = self.steps
        m = self.escaped.to(torch.float64)
        full = m == self.chains
        tot = torch.clamp(T, max=float(self.max_steps)).sum(-1)
        mle = tot / m
        mean = torch.where(full, T.clamp(max=float(self.max_steps)).mean(-1), mle)
        sd = torch.nan_to_num(T.clamp(max=float(self.max_steps)).std(-1), nan=math.inf)
        se = torch.where(full, sd / math.sqrt(self.chains), mle / m.sqrt())
        none = m == 0
        return (torch.where(none, math.inf, mean), torch.where(none, math.inf, se))

    def mean_time(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean escape time in time units t = steps·dt, its standard error), each ``(G,)``."""
        m, s = self.mean_steps()
        return m * self.dt, s * self.dt


def _progress(total, desc, progress):
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=desc, leave=False, disable=None if progress is None else not progress
    )


def _broadcast(G: int | None, **kw) -> tuple[int, dict]:
    """Turn scalars / 1-D sequences into float64 tensors of a common length G."""
    out: dict[str, torch.Tensor | None] = {}
    for k, v in kw.items():
        if v is None:
            out[k] = None
            continue
        t = torch.as_tensor(v, dtype=torch.float64).reshape(-1)
        if not bool(torch.isfinite(t).all()) or not bool((t > 0).all()):
            raise ValueError(f"{k} must be finite and > 0; got {v!r}")
        out[k] = t
    lens = {k: t.numel() for k, t in out.items() if t is not None and t.numel() > 1}
    if len(set(lens.values())) > 1:
        raise ValueError(
            f"per-configuration arguments must have the same length; got lengths {lens}"
        )
    G = next(iter(lens.values()), 1)
    return G, {k: (t.expand(G).clone() if t is not None else None) for k, t in out.items()}


@torch.no_grad()
def escape_times(
    method: str,
    *,
    lr,
    depth=1.0,
    width=1.0,
    chains: int,
    max_steps: int,
    data: torch.Tensor | None = None,
    batch_size=None,
    eps=None,
    alpha=None,
    seed: int = 0,
    device=None,
    progress: bool | None = None,
    compact_every: int = 32,
) -> EscapeTimes:
    """Escape times from the left minimum −w to the right minimum +w of :class:`DoubleWell` wells.

    G configurations run as one ensemble of G·``chains`` chains (every argument marked "per
    configuration" is a scalar or a sequence of length G). All chains start at −w and stop at the
    first step k with x_k ≥ +w; escaped chains are dropped from the ensemble every
    ``compact_every`` steps.

    ``method="sgd"``: θ_{k+1} = θ_k − η (U'(θ_k) − (1/B) Σ_{i∈B_k} a_i), batches of B indices drawn
    i.i.d. uniform from the n data a_i (with replacement, :func:`sgdsde.sampling.with_replacement`),
    i.e. SGD on the :class:`WellProblem` with data ``data`` (centred here).
    ``method="gaussian"``: X ← X − η U'(X) + ε √η Z, Z ~ N(0, 1) (Euler–Maruyama with dt = η).
    ``method="alpha_stable"``: X ← X − η U'(X) + ε η^{1/α} S_α, E e^{iuS_α} = e^{−|u|^α}.

    Parameters
    ----------
    method : ``"sgd"``, ``"gaussian"`` or ``"alpha_stable"``
    lr : per configuration, > 0: the step η (= dt of the SDE)
    depth, width : per configuration, > 0: the barrier h and the half-width w (symmetric wells)
    chains, max_steps : int ≥ 1
    data : Tensor ``(n,)`` (``"sgd"``): the a_i
    batch_size : per configuration, int ≥ 1 (``"sgd"``)
    eps : per configuration, > 0 (SDEs): the noise amplitude ε
    alpha : per configuration, in (0, 2] (``"alpha_stable"``)
    seed : int; device : torch device (float64 throughout); progress : bool, optional (tqdm)

    Returns
    -------
    EscapeTimes with ``steps`` ``(G, chains)``

    Raises
    ------
    ValueError
        On bad arguments, or if η·sup|U''| = η·8h/w² ≥ 2 (Euler/GD unstable in the walls).
    FloatingPointError
        If an iterate becomes non-finite.

    Examples
    --------
    >>> e = escape_times("gaussian", lr=0.01, depth=0.5, eps=[1.0, 0.8], chains=64, max_steps=20000)
    >>> e.steps.shape, bool((e.escaped == 64).all())
    (torch.Size([2, 64]), True)
    >>> tau = gaussian_mean_exit_time(DoubleWell(depth=0.5), 1.0)
    >>> m, se = e.mean_time()
    >>> abs(float(m[0]) - tau) < 5 * float(se[0]) + 0.1 * tau
    True
    """
    if method not in ("sgd", "gaussian", "alpha_stable"):
        raise ValueError(f"method must be 'sgd', 'gaussian' or 'alpha_stable'; got {method!r}")
    chains, max_steps = _posint("chains", chains), _posint("max_steps", max_steps)
    compact_every = _posint("compact_every", compact_every)
    if method == "sgd":
        if data is None or batch_size is None:
            raise ValueError("method='sgd' needs data (the a_i, shape (n,)) and batch_size")
        if eps is not None or alpha is not None:
            raise ValueError("method='sgd' takes no eps/alpha (its noise is the data's)")
        bs = torch.as_tensor(batch_size).reshape(-1)
        if bs.is_floating_point() or not bool((bs >= 1).all()):
            raise ValueError(f"batch_size must be int(s) >= 1; got {batch_size!r}")
    else:
        if eps is None:
            raise ValueError(f"method={method!r} needs eps")
        if method == "alpha_stable":
            if alpha is None:
                raise ValueError("method='alpha_stable' needs alpha in (0, 2]")
            for a_ in torch.as_tensor(alpha, dtype=torch.float64).reshape(-1).tolist():
                check_alpha(a_)
        bs = None
    G, p = _broadcast(
        None,
        lr=lr,
        depth=depth,
        width=width,
        eps=eps,
        alpha=alpha,
        batch_size=None if bs is None else bs.to(torch.float64),
    )
    if bool((p["lr"] * 8 * p["depth"] / p["width"] ** 2 >= 2).any()):
        raise ValueError(
            "lr too large: need lr·8·depth/width² < 2 (stability in the quadratic walls)"
        )
    dev = torch.device(device) if device is not None else torch.device("cpu")
    p = {k: (v.to(dev) if v is not None else None) for k, v in p.items()}
    gen = torch.Generator(device=dev).manual_seed(int(seed))
    rep = lambda t: t.repeat_interleave(chains)  # noqa: E731  per-chain copies, config-major
    lr_c, h_c, w_c = rep(p["lr"]), rep(p["depth"]), rep(p["width"])
    if method == "sgd":
        a = torch.as_tensor(data, dtype=torch.float64).reshape(-1).to(dev)
        if a.numel() < 1 or not bool(torch.isfinite(a).all()):
            raise ValueError("data must be a finite tensor of shape (n,)")
        a = a - a.mean()
        B_c = rep(p["batch_size"]).round().long()
        amp_c = None
    else:
        e_c = rep(p["eps"])
        if method == "gaussian":
            amp_c = e_c * lr_c.sqrt()
        else:
            al_c = rep(p["alpha"])
            amp_c = e_c * lr_c ** (1.0 / al_c)
    stepper = _WellStepper(
        method,
        gen,
        lr_c,
        h_c,
        w_c,
        amp_c,
        al_c if method == "alpha_stable" else None,
        a if method == "sgd" else None,
        B_c if method == "sgd" else None,
    )
    bar = _progress(max_steps, f"{method} escape", progress)
    path = integrate(
        stepper,
        -w_c.unsqueeze(-1),
        max_steps,
        generator=gen,
        save_every=max_steps,
        stop=FirstExit(stepper.outside, compact_every=compact_every),
        progress=bar,
    )
    e = path.exit_step
    assert e is not None  # a FirstExit rule records exit steps
    T = torch.where(e >= 0, e.to(torch.float64), math.inf)
    return EscapeTimes(T.reshape(G, chains).cpu(), max_steps, p["lr"].cpu())


class _WellStepper(Stepper):
    """One step of G·chains double-well chains (state ``(N, 1)``): SGD on the data a_i, or
    Euler–Maruyama with Gaussian / α-stable noise of amplitude ``amp`` per chain. Draws one
    step at a time (the generator's stream does not depend on the chunk length); chains dropped
    by the first-exit rule are dropped from the per-chain parameters too (:meth:`select`)."""

    weak_order = 1.0  # Euler–Maruyama (additive noise): weak order 1, strong order 1
    strong_order = 1.0

    def __init__(self, method, gen, lr, h, w, amp, alpha, a, B):
        self.method, self.gen = method, gen
        col = lambda t: None if t is None else t.unsqueeze(-1)  # noqa: E731
        self.lr, self.h, self.w, self.amp, self.alpha = col(lr), col(h), col(w), col(amp), alpha
        self.a, self.B = a, B
        if method == "sgd":
            self.cols = torch.arange(int(B.max()), device=a.device)

    def draws(self, x, steps, gen):
        return self

    chunk = 32

    def fill(self, n=None):
        return [self._draw() for _ in range(self.chunk if n is None else n)]

    def _draw(self):
        N = self.w.shape[0]
        if self.method == "sgd":
            return with_replacement(self.a.numel(), self.cols.numel(), N, self.gen)
        if self.method == "gaussian":
            return torch.randn(
                N, generator=self.gen, dtype=torch.float64, device=self.w.device
            ).unsqueeze(-1)
        return _stable_alpha_tensor(self.alpha, self.gen).unsqueeze(-1)

    def step(self, x, z, k):
        drift = _well_grad(x, self.h, self.w, self.w)
        if self.method == "sgd":
            xi = torch.where(self.cols < self.B.unsqueeze(-1), self.a[z], 0.0).sum(
                -1, keepdim=True
            ) / self.B.unsqueeze(-1)
            return x - self.lr * (drift - xi)
        return x - self.lr * drift + self.amp * z

    def outside(self, x, ids):
        return x[:, 0] >= self.w[:, 0]

    def select(self, keep):
        self.lr, self.h, self.w = self.lr[keep], self.h[keep], self.w[keep]
        if self.amp is not None:
            self.amp = self.amp[keep]
        if self.alpha is not None:
            self.alpha = self.alpha[keep]
        if self.B is not None:
            self.B = self.B[keep]

    def error(self, step, chains, path):
        return FloatingPointError(f"{self.method}: non-finite iterate at step {step}")


def gaussian_mean_exit_time(
    potential: DoubleWell,
    eps: float,
    *,
    x0: float | None = None,
    target: float | None = None,
    points: int = 40001,
) -> float:
    """Exact mean first-passage time of dX = −U'dt + ε dW from x0 to target > x0 (no lower barrier).

    T(x0) = (2/ε²) ∫_{x0}^{target} e^{2U(y)/ε²} ∫_{−∞}^{y} e^{−2U(z)/ε²} dz dy, evaluated by the
    trapezoidal rule on ``points`` nodes (exponents shifted for range; the lower limit is where
    2(U − min U)/ε² exceeds 60).

    Examples
    --------
    >>> U = DoubleWell(depth=1.0)
    >>> t_small, t_big = gaussian_mean_exit_time(U, 0.5), gaussian_mean_exit_time(U, 0.4)
    >>> round(math.log(t_big / t_small) / (2 / 0.4**2 - 2 / 0.5**2), 1)   # Arrhenius slope ≈ h
    1.0
    """
    eps = _pos("eps", eps)
    lo, hi = potential.minima
    x0 = lo if x0 is None else float(x0)
    target = hi if target is None else float(target)
    if not target > x0:
        raise ValueError(f"target must exceed x0; got x0={x0}, target={target}")
    beta = 2.0 / eps**2
    off = potential.width[0]
    while float(beta * potential.potential(torch.tensor(x0 - off, dtype=torch.float64))) < 60:
        off *= 1.5
    y = np.linspace(x0 - off, target, int(points))
    U = potential.potential(torch.from_numpy(y)).numpy()
    inner = np.concatenate(
        [[0.0], np.cumsum(0.5 * (np.exp(-beta * U[1:]) + np.exp(-beta * U[:-1])) * np.diff(y))]
    )
    mask = y >= x0
    ym, Um, Im = y[mask], U[mask], inner[mask]
    # e^{βU} I(y): combine in logs to keep the range
    f = np.exp(beta * Um + np.log(np.maximum(Im, 1e-300)))
    return float(beta * np.trapezoid(f, ym))


def kramers_time(potential: DoubleWell, eps: float) -> float:
    """Kramers' asymptotic mean transition time 2π/√(U''(m)|U''(s)|)·exp(2h/ε²) (small ε).

    Uses the left well's curvatures U''(−w₋) = 8h/w₋² and |U''(0⁻)| = 4h/w₋² (symmetric wells).

    Examples
    --------
    >>> U = DoubleWell(depth=1.0)
    >>> r = kramers_time(U, 0.3) / gaussian_mean_exit_time(U, 0.3)
    >>> 0.9 < r < 1.1
    True
    """
    eps = _pos("eps", eps)
    h, w = potential.depth, potential.width[0]
    return 2 * math.pi / math.sqrt((8 * h / w**2) * (4 * h / w**2)) * math.exp(2 * h / eps**2)


def levy_mean_exit_time(distance: float, eps: float, alpha: float) -> float:
    """First-order mean exit time α d^α/(c_α ε^α) of dX = −U'dt + ε dL^α from a well (small ε).

    The process leaves when one jump carries it past the saddle at distance d from the minimum;
    jumps of ε L^α beyond d (one side) arrive at rate ε^α c_α d^{−α}/α (Imkeller & Pavlyukevich
    2006). The law depends on the width d and on ε polynomially and not on the depth.

    Examples
    --------
    >>> t1, t2 = levy_mean_exit_time(1.0, 0.1, 1.5), levy_mean_exit_time(2.0, 0.1, 1.5)
    >>> round(t2 / t1, 6) == round(2 ** 1.5, 6)
    True
    """
    d, eps = _pos("distance", distance), _pos("eps", eps)
    a = check_alpha(alpha)
    if a == 2.0:
        return math.inf
    return a * d**a / (levy_measure_constant(a) * eps**a)


@dataclass
class StableFit:
    """Symmetric α-stable fit of noise samples: ``alpha`` (tail index), ``scale`` (s in e^{−|su|^α}),
    ``variance`` (the sample variance, what a Gaussian model would use) and ``n`` (samples).

    Examples
    --------
    >>> StableFit(alpha=1.5, scale=1.0, variance=20.0, n=1000).alpha
    1.5
    """

    alpha: float
    scale: float
    variance: float
    n: int


def fit_stable(x: torch.Tensor, *, k1: int | None = None, alpha_max: float = 2.0) -> StableFit:
    """Fit a symmetric α-stable law to 1-D noise samples.

    α̂ is Mohammadi's block-sum estimator (:func:`sgdsde.levy.tail_index_mohammadi`, as in
    Şimşekli et al. 2019), clipped to (0, ``alpha_max``]. The scale solves the empirical
    characteristic function at one frequency: e^{−(s u)^α̂} = |mean cos(u x)|, s = (−log φ̂(u))^{1/α̂}/u,
    with u = 1/median|x| (where φ̂ ≈ e^{−1} for every α, so the estimate is well conditioned).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> f = fit_stable(symmetric_stable(1.5, (40_000,), scale=2.0, generator=g))
    >>> abs(f.alpha - 1.5) < 0.1, abs(f.scale - 2.0) < 0.1
    (True, True)
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    x = x.detach().reshape(-1).to(torch.float64)
    if x.numel() < 100:
        raise ValueError(f"x needs at least 100 samples; got {x.numel()}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite")
    a = float(tail_index_mohammadi(x, k1))
    a = min(max(a, 1e-3), float(alpha_max))
    med = float(x.abs().median())
    if med <= 0:
        raise ValueError("x is degenerate (median |x| = 0)")
    u = 1.0 / med
    phi = float(torch.cos(u * x).mean())
    phi = min(max(phi, 1e-12), 1 - 1e-12)
    s = (-math.log(phi)) ** (1.0 / a) / u
    return StableFit(alpha=a, scale=s, variance=float(x.var()), n=int(x.numel()))
