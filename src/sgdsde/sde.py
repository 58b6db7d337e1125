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
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real

import scipy.linalg
import torch

from .levy import check_alpha, symmetric_stable

__all__ = ["Path", "DivergenceError", "simulate", "sgd_sde", "OrnsteinUhlenbeck"]

try:  # one divergence error type across the package: subclass sgd's
    from .sgd import DivergenceError as _BaseDivergenceError
except Exception:  # pragma: no cover - sgd.py absent or failing to import
    _BaseDivergenceError = RuntimeError


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


#: Target number of pre-drawn increment entries per chunk (CPU / CUDA).
CHUNK_ELEMENTS_CPU = 1 << 18
CHUNK_ELEMENTS_CUDA = 1 << 24


@dataclass
class Path:
    """A simulated trajectory ensemble.

    Attributes
    ----------
    t : Tensor ``(T,)``
        Saved times (SDE time units), ``t = step * dt``.
    x : Tensor ``(T, chains, d)``
        Saved states.
    step : LongTensor ``(T,)``
        Step index of each saved state (0 = initial state).
    diverged : BoolTensor ``(chains,)``
        Chains that became non-finite (only ever True with ``on_divergence="flag"``).
    diverged_step : LongTensor ``(chains,)``
        First step whose state was non-finite, −1 for chains that stayed finite.
    dt : float
        Time step.

    Examples
    --------
    >>> import torch
    >>> from sgdsde.sde import simulate
    >>> path = simulate(lambda x: -x, lambda x: torch.ones_like(x), torch.zeros(3), 0.1, 10,
    ...                 chains=4, save_every=5)
    >>> path.x.shape, path.t.tolist()
    (torch.Size([3, 4, 3]), [0.0, 0.5, 1.0])
    """

    t: torch.Tensor
    x: torch.Tensor
    step: torch.Tensor
    diverged: torch.Tensor
    diverged_step: torch.Tensor
    dt: float


# ---------------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------------
def _check_dt(dt) -> float:
    if isinstance(dt, torch.Tensor) and dt.numel() == 1:
        dt = dt.item()
    if isinstance(dt, bool) or not isinstance(dt, Real):
        raise TypeError(f"dt must be a real number > 0, got {type(dt).__name__}")
    dt = float(dt)
    if not (dt > 0 and math.isfinite(dt)):
        raise ValueError(f"dt must be a finite number > 0, got {dt}")
    return dt


def _check_int(name: str, v, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, Integral):
        raise TypeError(f"{name} must be an integer >= {lo}, got {type(v).__name__}")
    v = int(v)
    if v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v}")
    return v


def _check_noise(noise: str, alpha) -> float | None:
    if noise not in ("gaussian", "alpha_stable"):
        raise ValueError(f"noise must be 'gaussian' or 'alpha_stable', got {noise!r}")
    if noise == "alpha_stable":
        if alpha is None:
            raise ValueError("noise='alpha_stable' needs alpha in (0, 2]")
        return check_alpha(alpha)
    if alpha is not None:
        raise ValueError("alpha is only used with noise='alpha_stable'")
    return None


def _check_x0(x0, chains: int, name: str = "x0") -> torch.Tensor:
    if not isinstance(x0, torch.Tensor):
        x0 = torch.as_tensor(x0)
    if not x0.is_floating_point():
        x0 = x0.to(torch.get_default_dtype())
    if x0.ndim == 1:
        x0 = x0.unsqueeze(0).expand(chains, -1)
    elif x0.ndim == 2:
        if chains != 1 and x0.shape[0] != chains:
            raise ValueError(f"{name} has {x0.shape[0]} rows but chains={chains}")
    else:
        raise ValueError(f"{name} must have shape (d,) or (chains, d), got {tuple(x0.shape)}")
    if x0.shape[-1] < 1:
        raise ValueError(f"{name} must have d >= 1")
    if not bool(torch.isfinite(x0).all()):
        raise ValueError(f"{name} must be finite")
    return x0.clone().contiguous()


def _generator(
    device: torch.device, seed: int, generator: torch.Generator | None
) -> torch.Generator:
    if generator is not None:
        if torch.device(generator.device).type != device.type:
            raise ValueError(f"generator is on {generator.device} but the state is on {device}")
        return generator
    seed = _check_int("seed", seed, 0)
    return torch.Generator(device=device).manual_seed(seed)


# ---------------------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------------------
def _normal_(buf: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Fill ``buf`` with i.i.d. N(0, 1) in place.

    On CPU in float64, torch's ``normal_`` is a scalar loop (~100 ns per draw on this kind of
    machine); an explicit vectorised Box–Muller transform of float64 uniforms,
    ``sqrt(-2 log(1 - U1)) * (cos, sin)(2π U2)``, is exact in law and about 2× faster. Elsewhere
    torch's own sampler is used.
    """
    n = buf.numel()
    if buf.device.type != "cpu" or buf.dtype != torch.float64 or n < 64 or not buf.is_contiguous():
        return buf.normal_(generator=gen)
    flat = buf.view(-1)
    h = (n + 1) // 2
    u = torch.empty((2, h), dtype=buf.dtype).uniform_(generator=gen)
    r = u[0].neg_().log1p_().mul_(-2.0).sqrt_()  # sqrt(-2 log(1 - U1)), U1 in [0, 1)
    th = u[1].mul_(2.0 * math.pi)
    torch.mul(r[: n - h], torch.sin(th[: n - h]), out=flat[h:])
    torch.mul(r, th.cos_(), out=flat[:h])
    return buf


class _Noise:
    """Standard increments (N(0,1) or S_α) for each step, drawn in chunks of steps into one reused
    buffer, or read from a given ``(steps, *shape)`` tensor."""

    def __init__(
        self,
        kind: str,
        alpha,
        shape: tuple[int, ...],
        steps: int,
        dtype,
        device,
        gen,
        stable_scale: float = 1.0,
        chunk_elements: int | None = None,
        given: torch.Tensor | None = None,
    ):
        self.kind, self.alpha, self.gen, self.stable_scale = kind, alpha, gen, stable_scale
        self.given, self.pos = None, 0
        if given is not None:
            if not isinstance(given, torch.Tensor):
                raise TypeError("increments must be a torch.Tensor")
            if tuple(given.shape) != (steps, *shape):
                raise ValueError(
                    f"increments must have shape (steps, chains, m) = "
                    f"{(steps, *shape)}, got {tuple(given.shape)}"
                )
            self.given = given.to(dtype=dtype, device=device)
        per_step = max(1, math.prod(shape))
        if chunk_elements is None:
            chunk_elements = CHUNK_ELEMENTS_CUDA if device.type == "cuda" else CHUNK_ELEMENTS_CPU
        self.chunk = max(1, min(steps, chunk_elements // per_step)) if steps > 0 else 1
        self.buf = (
            None
            if given is not None
            else torch.empty((self.chunk, *shape), dtype=dtype, device=device)
        )

    def fill(self, n: int | None = None) -> torch.Tensor:
        n = self.chunk if n is None else n
        if self.given is not None:
            b = self.given[self.pos : self.pos + n]
            self.pos += n
            return b
        b = self.buf if n == self.chunk else self.buf[:n]
        if self.kind == "gaussian":
            _normal_(b, self.gen)
        else:
            symmetric_stable(
                self.alpha, tuple(b.shape), scale=self.stable_scale, generator=self.gen, out=b
            )
        return b


def _run(
    step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    dt: float,
    steps: int,
    noise: _Noise,
    save_every: int,
    on_divergence: str,
    cuda_graph: bool,
    kref: list | None = None,
) -> Path:
    """Iterate ``x ← step(x, z_k)`` with standard increments ``z_k`` drawn chunk-wise by ``noise``.

    Divergence is tested once per chunk with one reduction; when it fires, the chunk is replayed
    from its start with the same increments, testing every step, so the first non-finite step is
    exact. With ``on_divergence="flag"`` diverged chains are frozen at their last finite state.
    ``kref[0]`` is kept equal to the current step index (for error messages of ``step``).
    """
    if kref is None:
        kref = [0]
    if on_divergence not in ("raise", "flag"):
        raise ValueError(f"on_divergence must be 'raise' or 'flag', got {on_divergence!r}")
    chains, d = x.shape
    save_steps = list(range(0, steps + 1, save_every))
    if save_steps[-1] != steps:
        save_steps.append(steps)
    xs = torch.empty((len(save_steps), chains, d), dtype=x.dtype, device=x.device)
    xs[0] = x
    frozen = torch.zeros(chains, dtype=torch.bool, device=x.device)
    div_step = torch.full((chains,), -1, dtype=torch.long, device=x.device)
    any_frozen = False
    si = 1  # next save slot
    k = 0
    graph_runner = None
    if cuda_graph and x.device.type == "cuda" and steps > 0 and noise.given is None:
        graph_runner = _GraphRunner.try_build(step, x, noise, save_every)

    def chunk(x, z, n, k, si, check):
        """n steps from x at step k; saves into xs from slot si; per-step tests if ``check``."""
        nonlocal frozen, any_frozen
        fz = frozen.unsqueeze(-1)
        for i in range(n):
            kref[0] = k + i
            new = step(x, z[i])
            if check:
                bad = ~torch.isfinite(new).all(dim=1) & ~frozen
                if bool(bad.any()):
                    div_step[bad] = k + i + 1
                    if on_divergence == "raise":
                        idx = torch.nonzero(bad).flatten().tolist()
                        raise DivergenceError(
                            k + i + 1,
                            idx,
                            dt,
                            Path(
                                t=torch.tensor(save_steps[:si], dtype=x.dtype) * dt,
                                x=xs[:si],
                                step=torch.tensor(save_steps[:si]),
                                diverged=bad,
                                diverged_step=div_step,
                                dt=dt,
                            ),
                        )
                    frozen = frozen | bad
                    fz = frozen.unsqueeze(-1)
                    any_frozen = True
            if any_frozen:
                new = torch.where(fz, x, new)
            x = new
            if (k + i + 1) == save_steps[si]:
                xs[si] = x
                si += 1
        return x, si

    while k < steps:
        n = min(noise.chunk, steps - k)
        x_start, si_start = x, si
        if graph_runner is not None and n == noise.chunk and not any_frozen:
            x, saved = graph_runner.run(x)
            if graph_runner.inner:
                xs[si : si + saved.shape[0]] = saved
                si += saved.shape[0]
            if si < len(save_steps) and save_steps[si] == k + n:  # chunk end is a save step
                xs[si] = x
                si += 1
            z = graph_runner.dw
        else:
            z = noise.fill(n)
            x, si = chunk(x, z, n, k, si, False)
        if not bool(torch.isfinite(x.sum())):  # one cheap reduction; replay only if it fires
            x, si = chunk(x_start, z, n, k, si_start, True)
        k += n
    steps_t = torch.tensor(save_steps, dtype=torch.long, device=x.device)
    return Path(
        t=steps_t.to(x.dtype) * dt,
        x=xs,
        step=steps_t,
        diverged=frozen,
        diverged_step=div_step,
        dt=dt,
    )


class _GraphRunner:
    """Captures one chunk of L Euler–Maruyama steps in a CUDA graph and replays it.

    The chunk's increments are drawn into a static buffer before each replay (one kernel). Either
    L is a multiple of ``save_every`` (the graph also copies the states to save), or L divides
    ``save_every`` (states are saved between replays); chunks start at multiples of L, so the
    saved steps are those of the eager loop.
    """

    def __init__(self, step, x, noise, save_every):
        self.noise = noise
        self.n = noise.chunk
        self.dw = noise.buf
        self.x_static = x.clone()
        self.inner = self.n >= save_every
        nsave = self.n // save_every if self.inner else 0
        self.saved = torch.empty((nsave, *x.shape), dtype=x.dtype, device=x.device)
        stream = torch.cuda.Stream(device=x.device)
        stream.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(stream):  # warm-up (cuBLAS handles, allocator) on a scratch copy
            self.dw[: min(3, self.n)].zero_()
            tmp = x.clone()
            for i in range(min(3, self.n)):
                tmp = step(tmp, self.dw[i])
        torch.cuda.current_stream(x.device).wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            y = self.x_static
            for i in range(self.n):
                y = step(y, self.dw[i])
                if self.inner and (i + 1) % save_every == 0:
                    self.saved[(i + 1) // save_every - 1].copy_(y)
            self.x_static.copy_(y)

    @classmethod
    def try_build(cls, step, x, noise, save_every):
        L = noise.chunk
        if save_every >= L:
            L = max(q for q in range(1, L + 1) if save_every % q == 0)
        else:
            L = (L // save_every) * save_every
        if L != noise.chunk:
            noise.chunk = L
            noise.buf = torch.empty(
                (L, *noise.buf.shape[1:]), dtype=noise.buf.dtype, device=noise.buf.device
            )
        try:
            return cls(step, x, noise, save_every)
        except Exception as exc:  # capture is best-effort: fall back to the eager loop
            warnings.warn(
                f"CUDA graph capture failed ({type(exc).__name__}: {exc}); running eagerly",
                RuntimeWarning,
                stacklevel=3,
            )
            torch.cuda.synchronize(x.device)
            return None

    def run(self, x):
        self.noise.fill()
        self.x_static.copy_(x)
        self.graph.replay()
        return self.x_static.clone(), self.saved


def _check_out(name: str, v, shape, dtype, k: int) -> None:
    if not isinstance(v, torch.Tensor):
        raise TypeError(f"{name}(x) must return a torch.Tensor, got {type(v).__name__} (step {k})")
    if v.shape != shape:
        raise ValueError(
            f"{name}(x) returned shape {tuple(v.shape)}, expected {tuple(shape)} (step {k})"
        )
    if v.dtype != dtype:
        raise TypeError(f"{name}(x) returned dtype {v.dtype}, expected {dtype} like the state")


def simulate(
    drift: Callable[[torch.Tensor], torch.Tensor],
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
    drift : callable
        ``b(x)``: ``(chains, d)`` → ``(chains, d)`` (state units per time unit).
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
    if not callable(drift):
        raise TypeError("drift must be a callable x -> (chains, d)")
    x = _check_x0(x0, chains)
    chains, d = x.shape
    gen = _generator(x.device, seed, generator)
    shape = x.shape
    scale = math.sqrt(dt) if noise == "gaussian" else dt ** (1.0 / alpha)

    f0 = drift(x)
    _check_out("drift", f0, shape, x.dtype, 0)
    if callable(diffusion):
        g0 = diffusion(x)
        if not isinstance(g0, torch.Tensor):
            raise TypeError(f"diffusion(x) must return a torch.Tensor, got {type(g0).__name__}")
        if g0.shape == shape:
            kind, m = "diag", d
        elif g0.ndim == 3 and g0.shape[:2] == shape:
            kind, m = "general", g0.shape[2]
        else:
            raise ValueError(
                f"diffusion(x) must return (chains, d) = {tuple(shape)} for diagonal "
                f"noise or (chains, d, m) for general noise; got {tuple(g0.shape)} (step 0)"
            )
        _check_out("diffusion", g0, g0.shape, x.dtype, 0)
        gshape = g0.shape
    else:
        G = torch.as_tensor(diffusion, dtype=x.dtype, device=x.device)
        if G.ndim == 0:
            kind, m, G = "const_diag", d, G.expand(d)
        elif G.shape == (d,):
            kind, m = "const_diag", d
        elif G.ndim == 2 and G.shape[0] == d:
            kind, m = "const_general", G.shape[1]
            Gt = G.T.contiguous()
        else:
            raise ValueError(
                f"constant diffusion must be a scalar, (d,) or (d, m) with d = {d}; "
                f"got {tuple(G.shape)}"
            )
        if not bool(torch.isfinite(G).all()):
            raise ValueError("diffusion must be finite")

    kref = [0]

    def checked_drift(x):
        f = drift(x)
        if f.shape != shape:
            _check_out("drift", f, shape, x.dtype, kref[0])
        return f

    def checked_diffusion(x):
        g = diffusion(x)
        if g.shape != gshape:
            _check_out("diffusion", g, gshape, x.dtype, kref[0])
        return g

    if kind == "diag":

        def step(x, z):
            f, g = checked_drift(x), checked_diffusion(x)
            return torch.addcmul(x, g, z, value=scale).add_(f, alpha=dt)
    elif kind == "general":

        def step(x, z):
            f, g = checked_drift(x), checked_diffusion(x)
            if g.stride(0) == 0:  # the same matrix for every chain (expanded): one matmul
                return torch.addmm(x, z, g[0].T, alpha=scale).add_(f, alpha=dt)
            return (
                torch.baddbmm(x.unsqueeze(-1), g, z.unsqueeze(-1), alpha=scale)
                .squeeze(-1)
                .add_(f, alpha=dt)
            )
    elif kind == "const_diag":

        def step(x, z):
            return torch.addcmul(x, G, z, value=scale).add_(checked_drift(x), alpha=dt)
    else:

        def step(x, z):
            return torch.addmm(x, z, Gt, alpha=scale).add_(checked_drift(x), alpha=dt)

    nz = _Noise(noise, alpha, (chains, m), steps, x.dtype, x.device, gen, given=increments)
    return _run(step, x, dt, steps, nz, save_every, on_divergence, cuda_graph, kref)


# ---------------------------------------------------------------------------------------------
# SGD's SDE
# ---------------------------------------------------------------------------------------------
def _hvp_grad(problem, theta: torch.Tensor, G: torch.Tensor | None = None):
    """Return (g_n, H g_n) at θ ``(chains, d)``: H g = ½ ∇‖g‖² by double backward (Hessian fallback)."""
    with torch.enable_grad():
        th = theta.detach().requires_grad_(True)
        g = problem.grad(th)
        if g.requires_grad:
            (hg2,) = torch.autograd.grad((g * g).sum(), th)
            return g.detach(), 0.5 * hg2
    g = g.detach()
    H = problem.hessian(theta)  # NotImplementedError propagates with the problem's message
    return g, (H @ g.unsqueeze(-1)).squeeze(-1)


def sgd_sde(
    problem,
    theta0,
    lr: float,
    batch_size: int,
    steps: int,
    *,
    dt: float | None = None,
    sampling: str = "with_replacement",
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
    sampling : {"with_replacement", "without_replacement", "reshuffle"}
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
    if sampling == "with_replacement":
        c = 1.0
    elif sampling in ("without_replacement", "reshuffle"):
        if B > n:
            raise ValueError(f"batch_size must be <= n = {n} for sampling={sampling!r}, got {B}")
        c = (n - B) / (n - 1) if n > 1 else 0.0
    else:
        raise ValueError(
            "sampling must be 'with_replacement', 'without_replacement' or 'reshuffle', "
            f"got {sampling!r}"
        )
    x = _check_x0(problem.theta0 if theta0 is None else theta0, chains, "theta0")
    if x.shape[-1] != d:
        raise ValueError(f"theta0 must have last dimension d = {d}, got {tuple(x.shape)}")
    x = x.to(problem.dtype)
    gen = _generator(x.device, seed, generator)
    if noise == "gaussian":
        scale, stable_scale = math.sqrt(dt * eta * c / B), 1.0
    else:
        scale = dt ** (1 / alpha) * eta ** (1 - 1 / alpha) * math.sqrt(c / B)
        stable_scale = 2**-0.5
    scale /= math.sqrt(n)  # F = (G - g)/sqrt(n)
    half_eta = 0.5 * eta

    def step(th, z):  # z: (chains, n)
        G = problem.per_sample_grads(th)  # (chains, n, d)
        if order == 1:
            g = G.mean(-2)
            drift = g
        else:
            g, hg = _hvp_grad(problem, th)
            drift = g.add(hg, alpha=half_eta)
        # Fᵀz √n = Gᵀz − g Σ_i z_i
        noise_ = torch.bmm(z.unsqueeze(1), G).squeeze(1).sub_(g * z.sum(-1, keepdim=True))
        return torch.add(th, noise_, alpha=scale).sub_(drift, alpha=dt)

    nz = _Noise(noise, alpha, (x.shape[0], n), steps, x.dtype, x.device, gen, stable_scale)
    return _run(step, x, dt, steps, nz, save_every, on_divergence, False)


# ---------------------------------------------------------------------------------------------
# Ornstein–Uhlenbeck
# ---------------------------------------------------------------------------------------------
class OrnsteinUhlenbeck:
    """The linear SDE dx = −A x dt + √(2D) dW (A stable, D symmetric positive semi-definite).

    Closed forms (all exact): mean ``e^{−At} x0``; covariance
    ``cov(t) = S − e^{−At} S e^{−Aᵀt} + e^{−At} cov0 e^{−Aᵀt}`` with the stationary covariance S
    solving the Lyapunov equation ``A S + S Aᵀ = 2D``; stationary law N(0, S); stationary
    probability current ``j(x) = (−A + D S⁻¹) x p(x)``, which vanishes for all x iff ``A S = D``
    (detailed balance). For symmetric A and D = I this always holds; for anisotropic D that does
    not commute with A it fails and probability circulates.

    Parameters
    ----------
    A : Tensor ``(d, d)`` or float
        Drift matrix (eigenvalues with positive real part for the stationary quantities).
    D : Tensor ``(d, d)`` or float
        Diffusion matrix, symmetric PSD (``a = σσᵀ = 2D``).

    Examples
    --------
    >>> import torch
    >>> ou = OrnsteinUhlenbeck(torch.tensor([[1.0, 0.0], [0.0, 3.0]], dtype=torch.float64),
    ...                        torch.tensor([[1.0, 0.5], [0.5, 1.0]], dtype=torch.float64))
    >>> S = ou.stationary_cov()
    >>> bool(torch.allclose(ou.A @ S + S @ ou.A.T, 2 * ou.D))
    True
    >>> ou.detailed_balance(), OrnsteinUhlenbeck(2.0, 1.0).detailed_balance()
    (False, True)
    """

    def __init__(self, A, D):
        A = torch.as_tensor(A)
        if not A.is_floating_point():
            A = A.to(torch.get_default_dtype())
        D = torch.as_tensor(D, dtype=A.dtype, device=A.device)
        if A.ndim == 0:
            A = A.reshape(1, 1)
        if D.ndim == 0:
            D = D.reshape(1, 1)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square (d, d) matrix, got {tuple(A.shape)}")
        if D.shape != A.shape:
            raise ValueError(f"D must have the shape of A {tuple(A.shape)}, got {tuple(D.shape)}")
        if not (bool(torch.isfinite(A).all()) and bool(torch.isfinite(D).all())):
            raise ValueError("A and D must be finite")
        tol = 1e-10 * max(1.0, float(D.abs().max()))
        if float((D - D.T).abs().max()) > tol:
            raise ValueError("D must be symmetric")
        if float(torch.linalg.eigvalsh(D).min()) < -tol:
            raise ValueError("D must be positive semi-definite")
        self.A, self.D = A, D
        self.d = A.shape[0]
        self._S = None

    def _check_stable(self) -> None:
        ev = torch.linalg.eigvals(self.A)
        if float(ev.real.min()) <= 0:
            raise ValueError(
                "A must have eigenvalues with positive real part for a stationary law; "
                f"min real part = {float(ev.real.min()):g}"
            )

    @property
    def sigma(self) -> torch.Tensor:
        """Symmetric square root of 2D, ``(d, d)``: the constant diffusion for :func:`simulate`."""
        w, V = torch.linalg.eigh(2 * self.D)
        return (V * w.clamp(min=0).sqrt()) @ V.T

    def drift(self, x: torch.Tensor) -> torch.Tensor:
        """b(x) = −A x: ``(..., d)`` → ``(..., d)``."""
        return -x @ self.A.T

    def stationary_cov(self) -> torch.Tensor:
        """S with A S + S Aᵀ = 2D, ``(d, d)`` (scipy's Bartels–Stewart solver, float64)."""
        if self._S is None:
            self._check_stable()
            a = self.A.detach().cpu().double().numpy()
            q = 2 * self.D.detach().cpu().double().numpy()
            S = scipy.linalg.solve_continuous_lyapunov(a, q)
            S = 0.5 * (S + S.T)
            self._S = torch.as_tensor(S, dtype=self.A.dtype, device=self.A.device)
        return self._S

    def _expm(self, t) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=self.A.dtype, device=self.A.device)
        if bool((t < 0).any()):
            raise ValueError("t must be >= 0")
        return torch.linalg.matrix_exp(-self.A * t[..., None, None])

    def mean(self, x0, t) -> torch.Tensor:
        """E[x_t | x_0] = e^{−At} x0: x0 ``(..., d)``, t float → ``(..., d)``.

        A 1-D tensor of times ``(T,)`` with x0 ``(d,)`` gives ``(T, d)``.
        """
        x0 = torch.as_tensor(x0, dtype=self.A.dtype, device=self.A.device)
        E = self._expm(t)
        return (E @ x0.unsqueeze(-1)).squeeze(-1)

    def cov(self, t, cov0=None) -> torch.Tensor:
        """Cov[x_t] = S − e^{−At} S e^{−Aᵀt} (+ e^{−At} cov0 e^{−Aᵀt}); ``(d, d)`` or ``(T, d, d)``."""
        S = self.stationary_cov()
        E = self._expm(t)
        C = S - E @ S @ E.mT
        if cov0 is not None:
            cov0 = torch.as_tensor(cov0, dtype=self.A.dtype, device=self.A.device)
            C = C + E @ cov0 @ E.mT
        return 0.5 * (C + C.mT)

    def sample(
        self, x0, t: float, chains: int = 1, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Exact draw of x_t given x_0: ``(chains, d)`` (x0 ``(d,)`` or ``(chains, d)``)."""
        x0 = _check_x0(torch.as_tensor(x0, dtype=self.A.dtype, device=self.A.device), chains)
        m = self.mean(x0, t)
        w, V = torch.linalg.eigh(self.cov(t))
        L = V * w.clamp(min=0).sqrt()
        z = torch.randn(m.shape, dtype=m.dtype, device=m.device, generator=generator)
        return m + z @ L.T

    def stationary_density(self, x) -> torch.Tensor:
        """N(0, S) density at x ``(..., d)`` → ``(...,)``."""
        S = self.stationary_cov()
        x = torch.as_tensor(x, dtype=S.dtype, device=S.device)
        P = torch.linalg.inv(S)
        q = torch.einsum("...i,ij,...j->...", x, P, x)
        logdet = torch.linalg.slogdet(S)[1]
        return torch.exp(-0.5 * q - 0.5 * logdet - 0.5 * self.d * math.log(2 * math.pi))

    def current_matrix(self) -> torch.Tensor:
        """M = −A + D S⁻¹, ``(d, d)``: the stationary current is j(x) = M x p(x)."""
        S = self.stationary_cov()
        return -self.A + self.D @ torch.linalg.inv(S)

    def stationary_current(self, x) -> torch.Tensor:
        """Stationary probability current j(x) = (−A + D S⁻¹) x p(x): ``(..., d)`` → ``(..., d)``."""
        x = torch.as_tensor(x, dtype=self.A.dtype, device=self.A.device)
        return (x @ self.current_matrix().T) * self.stationary_density(x).unsqueeze(-1)

    def detailed_balance(self, rtol: float = 1e-8) -> bool:
        """True iff the stationary current vanishes, i.e. A S = D (to relative tolerance ``rtol``)."""
        S = self.stationary_cov()
        AS = self.A @ S
        scale = max(
            float(torch.linalg.matrix_norm(AS)), float(torch.linalg.matrix_norm(self.D)), 1e-300
        )
        return bool(float(torch.linalg.matrix_norm(AS - self.D)) <= rtol * scale)

    def simulate(self, x0, dt: float, steps: int, **kwargs) -> Path:
        """Euler–Maruyama of this OU with :func:`simulate` (constant general noise √(2D))."""
        return simulate(self.drift, self.sigma, x0, dt, steps, **kwargs)
