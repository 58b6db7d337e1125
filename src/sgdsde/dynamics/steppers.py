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

The steppers here: :class:`SGD` (plain and heavy ball, on a Problem with a sampling scheme),
:class:`EulerMaruyama` (Gaussian or α-stable noise, diagonal or general diffusion) and
:class:`SGDSDE` (SGD's SDE, notes (23), and with ``order=2`` the modified equation;
:class:`ModifiedEquation` is that stepper).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from ..problems import Problem
from ..sampling import make_sampler
from .draws import Increments
from .path import DivergenceError

__all__ = ["Stepper", "SGD", "EulerMaruyama", "SGDSDE", "ModifiedEquation", "hvp_grad"]


class Stepper:
    """Base class of the steppers (see the module docstring for the protocol).

    Examples
    --------
    >>> import torch
    >>> from sgdsde.dynamics import integrate
    >>> class Halve(Stepper):                       # x_{k+1} = x_k / 2, exact: no order claimed
    ...     def step(self, x, z, k):
    ...         return x / 2
    >>> integrate(Halve(), torch.ones(1), 3).x[:, 0, 0].tolist()
    [1.0, 0.5, 0.25, 0.125]
    """

    weak_order: float | None = None
    strong_order: float | None = None
    graph_safe = False
    records: dict = {}
    checked: tuple = ()

    def draws(self, x: torch.Tensor, steps: int, gen: torch.Generator):
        return None

    def step(self, x: torch.Tensor, z, k: int) -> torch.Tensor:
        raise NotImplementedError

    def error(self, step: int, chains: list, path) -> Exception:
        return DivergenceError(step, chains, path)


class _BatchDraws:
    """Minibatch indices for a chunk of steps: a list of ``(chains, B)`` draws of one sampler."""

    given = None

    def __init__(self, draw: Callable[[], torch.Tensor], chunk: int):
        self.draw, self.chunk = draw, chunk

    def fill(self, n=None):
        return [self.draw() for _ in range(self.chunk if n is None else n)]


class SGD(Stepper):
    """SGD (notes §1.4, Algorithm 1) on a :class:`~sgdsde.problems.Problem`, plain or heavy ball.

    θ_{k+1} = θ_k − η_k g_{B_k}(θ_k), or with momentum μ: v_{k+1} = μ v_k + g_{B_k}(θ_k),
    θ_{k+1} = θ_k − η_k v_{k+1} (v_0 = 0). Every chain draws its own batch B_k from
    ``sampling.make_sampler(sampling, n, B, chains, gen)``; ``batch_size=None`` is full-batch GD.

    Orders: as an approximation of SGD's SDE (23) with time t = kη, weak order 1 in η (Li, Tai &
    E); full-batch GD is Euler's method for gradient flow, order 1 (heavy ball: for the flow
    θ' = −∇L_n/(1 − μ)). There is no pathwise coupling with an SDE: ``strong_order`` is None.

    Parameters
    ----------
    problem : Problem
    lr : float or sequence of floats (η_k of every step)
    batch_size : int or None (full batch)
    sampling : a scheme name of :data:`sgdsde.sampling.SCHEMES`
    momentum : float in [0, 1)
    record_loss, record_noise : bool; record L_n(θ_k) (checked: non-finite counts as divergence)
        and ξ_k = g_n(θ_k) − g_{B_k}(θ_k) at the saved steps
    full : bool, optional; exact GD (default: ``batch_size is None``)

    Examples
    --------
    >>> import torch
    >>> from sgdsde import problems
    >>> from sgdsde.dynamics import integrate
    >>> p = problems.LinearRegression(*problems.gaussian_regression(100, 3, seed=0))
    >>> path = integrate(SGD(p, 0.1, 10, record_loss=True), p.theta0, 50, chains=8, save_every=25)
    >>> path.theta.shape, path.loss.shape, path.t.tolist()
    (torch.Size([3, 8, 3]), torch.Size([3, 8]), [0.0, 2.5, 5.0])
    """

    weak_order = 1.0
    strong_order = None

    def __init__(
        self,
        problem: Problem,
        lr: float | Sequence[float],
        batch_size: int | None = None,
        *,
        sampling: str = "with_replacement",
        momentum: float = 0.0,
        record_loss: bool = False,
        record_noise: bool = False,
        full: bool | None = None,
    ):
        self.problem, self.batch_size, self.sampling = problem, batch_size, sampling
        self.lr = lr
        self.mu = float(momentum)
        self.full = batch_size is None if full is None else full
        self.record_loss, self.record_noise = record_loss, record_noise
        self.records = ({"loss": ()} if record_loss else {}) | (
            {"noise": (problem.d,)} if record_noise else {}
        )
        self.checked = ("loss",) if record_loss else ()
        self.v = None
        self._draw = None

    def _eta(self, k: int) -> float:
        return self.lr if isinstance(self.lr, float) else self.lr[k]

    def draws(self, x, steps, gen):
        self.v = torch.zeros_like(x) if self.mu > 0 else None
        chunk = 64 if x.device.type != "cpu" else 32
        if self.full:
            return _BatchDraws(lambda: None, chunk)
        self._draw = make_sampler(self.sampling, self.problem.n, self.batch_size, x.shape[0], gen)
        return _BatchDraws(self._draw, chunk)

    def step(self, th, idx, k):
        g = self.problem.grad(th) if idx is None else self.problem.batch_grad(th, idx)
        s = self.v.mul_(self.mu).add_(g) if self.v is not None else g
        return torch.add(th, s, alpha=-self._eta(k))

    def observe(self, th, idx, k):
        out = {}
        if self.record_loss:
            out["loss"] = self.problem.loss(th)
        if self.record_noise:
            if self.full:
                out["noise"] = torch.zeros_like(th)
            else:
                if idx is None:  # the final state: the batch step `steps` would use
                    idx = self._draw()
                out["noise"] = self.problem.grad(th) - self.problem.batch_grad(th, idx)
        return out

    def state(self):
        return None if self.v is None else self.v.clone()

    def restore(self, s):
        if s is not None:
            self.v.copy_(s)

    def freeze(self, mask):
        if self.v is not None:
            self.v.masked_fill_(mask.unsqueeze(-1), 0)

    def times(self, steps_t):
        if isinstance(self.lr, float):
            return steps_t.to(torch.float64) * self.lr
        cum = torch.cat(
            [
                torch.zeros(1, dtype=torch.float64),
                torch.tensor(list(self.lr), dtype=torch.float64).cumsum(0),
            ]
        )
        return cum[steps_t.cpu()]


def _check_out(name: str, v, shape, dtype, k: int) -> None:
    if not isinstance(v, torch.Tensor):
        raise TypeError(f"{name}(x) must return a torch.Tensor, got {type(v).__name__} (step {k})")
    if v.shape != shape:
        raise ValueError(
            f"{name}(x) returned shape {tuple(v.shape)}, expected {tuple(shape)} (step {k})"
        )
    if v.dtype != dtype:
        raise TypeError(f"{name}(x) returned dtype {v.dtype}, expected {dtype} like the state")


class EulerMaruyama(Stepper):
    """Euler–Maruyama for dx = b(x) dt + σ(x) dW (or σ(x) dL^α): x_{k+1} = x_k + b Δt + σ ΔW_k.

    ``diffusion`` is a callable returning ``(chains, d)`` (diagonal, m = d) or ``(chains, d, m)``
    (general), or a constant tensor: 0-d (σ·I), ``(d,)`` diagonal or ``(d, m)`` general. Gaussian
    increments ΔW_k = √Δt N(0, I_m); α-stable ones Δt^{1/α} S_α with E e^{iuS_α} = e^{−|u|^α}
    (α = 2 is √2·W). Each step is one fused update.

    Orders: Gaussian noise, weak order 1 and strong order 1/2 (1 when σ is constant: additive
    noise). α-stable noise: weak order 1, and strong order 1 (in L¹, α > 1) for constant σ; for a
    state-dependent σ no strong order is claimed (None).

    Parameters
    ----------
    drift : callable ``(chains, d) -> (chains, d)``
    diffusion : callable or Tensor (see above)
    dt : float > 0
    noise : ``"gaussian"`` or ``"alpha_stable"``; alpha : float in (0, 2] for the latter
    increments : Tensor ``(steps, chains, m)``, optional; the standard draws to use

    Examples
    --------
    >>> import torch
    >>> from sgdsde.dynamics import integrate
    >>> em = EulerMaruyama(lambda x: -x, 0.5, 0.01)
    >>> em.weak_order, em.strong_order
    (1.0, 1.0)
    >>> integrate(em, torch.zeros(2), 100, chains=3, save_every=50).x.shape
    torch.Size([3, 3, 2])
    """

    weak_order = 1.0

    def __init__(
        self,
        drift: Callable,
        diffusion,
        dt: float,
        *,
        noise: str = "gaussian",
        alpha: float | None = None,
        increments: torch.Tensor | None = None,
    ):
        if not callable(drift):
            raise TypeError("drift must be a callable x -> (chains, d)")
        self.drift, self.diffusion, self.dt = drift, diffusion, float(dt)
        self.noise, self.alpha, self.increments = noise, alpha, increments
        if noise == "gaussian":
            self.scale = math.sqrt(self.dt)
        elif alpha is None:
            raise ValueError(f"noise={noise!r} needs alpha in (0, 2]")
        else:
            self.scale = self.dt ** (1.0 / alpha)
        const = not callable(diffusion)
        self.strong_order = (
            (1.0 if const else 0.5) if noise == "gaussian" else (1.0 if const else None)
        )
        self._step = None

    @property
    def graph_safe(self):
        return True

    def draws(self, x, steps, gen):
        shape = x.shape
        chains, d = shape
        dt, scale, drift, diffusion = self.dt, self.scale, self.drift, self.diffusion
        _check_out("drift", drift(x), shape, x.dtype, 0)
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

        def checked_drift(x, k):
            f = drift(x)
            if f.shape != x.shape:
                _check_out("drift", f, x.shape, x.dtype, k)
            return f

        def checked_diffusion(x, k):
            g = diffusion(x)
            if g.shape[1:] != gshape[1:] or g.shape[0] != x.shape[0]:
                _check_out("diffusion", g, (x.shape[0], *gshape[1:]), x.dtype, k)
            return g

        if kind == "diag":

            def step(x, z, k):
                f, g = checked_drift(x, k), checked_diffusion(x, k)
                return torch.addcmul(x, g, z, value=scale).add_(f, alpha=dt)
        elif kind == "general":

            def step(x, z, k):
                f, g = checked_drift(x, k), checked_diffusion(x, k)
                if g.stride(0) == 0:  # the same matrix for every chain (expanded): one matmul
                    return torch.addmm(x, z, g[0].T, alpha=scale).add_(f, alpha=dt)
                return (
                    torch.baddbmm(x.unsqueeze(-1), g, z.unsqueeze(-1), alpha=scale)
                    .squeeze(-1)
                    .add_(f, alpha=dt)
                )
        elif kind == "const_diag":

            def step(x, z, k):
                return torch.addcmul(x, G, z, value=scale).add_(checked_drift(x, k), alpha=dt)
        else:

            def step(x, z, k):
                return torch.addmm(x, z, Gt, alpha=scale).add_(checked_drift(x, k), alpha=dt)

        self._step = step
        return Increments(
            self.noise,
            self.alpha,
            (chains, m),
            steps,
            x.dtype,
            x.device,
            gen,
            given=self.increments,
        )

    def step(self, x, z, k):
        return self._step(x, z, k)


def hvp_grad(problem, theta: torch.Tensor):
    """(g_n, H g_n) at θ ``(chains, d)``: H g = ½ ∇‖g‖² by double backward (Hessian fallback).

    Examples
    --------
    >>> import torch
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(20, 2, seed=0))
    >>> th = torch.ones(1, 2, dtype=torch.float64)
    >>> g, hg = hvp_grad(p, th)
    >>> bool(torch.allclose(hg, g @ (p.X.T @ p.X / p.n)))
    True
    """
    with torch.enable_grad():
        th = theta.detach().requires_grad_(True)
        g = problem.grad(th)
        if g.requires_grad:
            (hg2,) = torch.autograd.grad((g * g).sum(), th)
            return g.detach(), 0.5 * hg2
    g = g.detach()
    H = problem.hessian(theta)  # NotImplementedError propagates with the problem's message
    return g, (H @ g.unsqueeze(-1)).squeeze(-1)


class SGDSDE(Stepper):
    """Euler–Maruyama for SGD's SDE (notes (23)), noise through the factor F (FᵀF = Σ_emp).

    dθ = −∇L_n dt [− (η/4)∇‖∇L_n‖² dt if order = 2] + √(ηc/B) Σ_emp^{1/2} dW, with c the
    sampling scheme's covariance factor. One step adds ``noise_scale · (Gᵀz − g Σ_i z_i)`` with
    ``z ~ (chains, n)`` standard draws (N(0, 1), or S_α with scale 2^{−1/2} for α-stable noise) and
    G the per-sample gradients; see :func:`sgdsde.sde.sgd_sde` for the scales.

    Orders: in Δt, Euler–Maruyama's weak order 1 and strong order 1/2. As an approximation of
    SGD (in η, on [0, T]): ``model_order`` = ``order`` (1 for (23), 2 for the modified equation).

    Parameters
    ----------
    problem : Problem (``per_sample_grads``; ``grad`` differentiable or ``hessian`` for order 2)
    lr : float η; dt : float Δt; order : 1 or 2
    noise_scale : float; the factor applied to Gᵀz − g Σz (it includes 1/√n)
    noise : ``"gaussian"`` or ``"alpha_stable"``; alpha; stable_scale : float (scale of S_α draws)
    increments : Tensor ``(steps, chains, n)``, optional; the standard draws to use

    Examples
    --------
    >>> import torch
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> from sgdsde.dynamics import integrate
    >>> p = LinearRegression(*gaussian_regression(30, 2, seed=0))
    >>> st = SGDSDE(p, lr=0.1, dt=0.1, noise_scale=0.0, order=2)            # no noise: modified flow
    >>> st.model_order, integrate(st, p.theta0, 10, chains=2).x.shape
    (2, torch.Size([11, 2, 2]))
    """

    weak_order = 1.0
    strong_order = 0.5

    def __init__(
        self,
        problem,
        lr: float,
        dt: float,
        noise_scale: float,
        *,
        order: int = 1,
        noise: str = "gaussian",
        alpha: float | None = None,
        stable_scale: float = 1.0,
        increments: torch.Tensor | None = None,
    ):
        self.problem, self.eta, self.dt, self.scale = (
            problem,
            float(lr),
            float(dt),
            float(noise_scale),
        )
        self.order, self.model_order = order, order
        self.noise, self.alpha, self.stable_scale = noise, alpha, stable_scale
        self.increments = increments

    def draws(self, x, steps, gen):
        return Increments(
            self.noise,
            self.alpha,
            (x.shape[0], int(self.problem.n)),
            steps,
            x.dtype,
            x.device,
            gen,
            self.stable_scale,
            given=self.increments,
        )

    def step(self, th, z, k):  # z: (chains, n)
        G = self.problem.per_sample_grads(th)  # (chains, n, d)
        if self.order == 1:
            g = G.mean(-2)
            drift = g
        else:
            g, hg = hvp_grad(self.problem, th)
            drift = g.add(hg, alpha=0.5 * self.eta)
        # Fᵀz √n = Gᵀz − g Σ_i z_i
        noise_ = torch.bmm(z.unsqueeze(1), G).squeeze(1).sub_(g * z.sum(-1, keepdim=True))
        return torch.add(th, noise_, alpha=self.scale).sub_(drift, alpha=self.dt)


class ModifiedEquation(SGDSDE):
    """The order-2 modified equation of SGD: :class:`SGDSDE` with ``order=2``.

    Drift −∇L_n − (η/4)∇‖∇L_n‖² = −(I + ηH/2)∇L_n, diffusion as in (23); a weak approximation of
    SGD of order 2 in η (Li, Tai & E), solved by Euler–Maruyama.

    Examples
    --------
    >>> import torch
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(30, 2, seed=0))
    >>> ModifiedEquation(p, lr=0.1, dt=0.01, noise_scale=0.0).model_order
    2
    """

    def __init__(self, problem, lr: float, dt: float, noise_scale: float, **kw):
        kw.pop("order", None)
        super().__init__(problem, lr, dt, noise_scale, order=2, **kw)
