"""Escape times of SGD, the Gaussian SDE and the α-stable SDE from the left well, as one ensemble."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...dynamics import FirstExit, Stepper, integrate
from ...levy import check_alpha
from ...sampling import with_replacement
from ._potential import _posint

__all__ = ["EscapeTimes", "escape_times"]


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
    >>> from sgdsde.experiments.wells import DoubleWell, gaussian_mean_exit_time
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
