"""The SGLD stepper: localised stochastic-gradient Langevin dynamics on a Problem.

The sampler of the local learning coefficient (Lau, Furman, Wang, Murfet & Wei 2023), in the
convention of their paper and of ``devinterp``:

    w_{k+1} = w_k − (ε/2) (nβ g_B(w_k) + γ (w_k − w*)) + √ε z_k,     z_k ~ N(0, I),

the Euler–Maruyama scheme (step ε/2 in time) of the Langevin SDE whose stationary law is the
localised tempered posterior ∝ exp(−nβ L_n(w) − γ‖w − w*‖²/2).

Examples
--------
>>> from sgdsde.dynamics.steppers.sgld import SGLD
>>> SGLD.weak_order
1.0
"""

from __future__ import annotations

import math

import torch

from ..._validate import as_int, as_real
from ...problems import Problem
from ...sampling import make_sampler
from ..path import DivergenceError
from .base import Stepper

__all__ = ["SGLD", "SGLDDivergenceError"]


class SGLDDivergenceError(DivergenceError):
    """An SGLD chain became non-finite or exploded: the step ``lr`` is too large for the
    curvature nβ·∇²L_n + γ (stability needs ε·(nβ h_max + γ) < 4), or the localisation too weak.

    Examples
    --------
    >>> e = SGLDDivergenceError(3, [1], what="loss")
    >>> "SGLD diverged" in str(e) and "lr" in str(e)
    True
    """

    def __init__(self, step: int, chains: list, trajectory=None, what: str = "state"):
        super().__init__(step, chains, trajectory, what)
        shown = chains if len(chains) <= 20 else chains[:20] + ["..."]
        self.args = (
            f"SGLD diverged at step {step}: the {what} is non-finite or exploding in "
            f"{len(chains)} chain(s) {shown}. Lower lr (stability needs "
            "lr * (nbeta * h_max + localization) < 4) or raise the localization.",
        )


class SGLD(Stepper):
    """Localised SGLD (see the module docstring) on a :class:`~sgdsde.problems.Problem`.

    Parameters
    ----------
    problem : Problem
        L_n and its (minibatch) gradients.
    lr : float > 0
        The step ε.
    nbeta : float > 0
        The inverse temperature nβ (the loss is multiplied by it).
    localization : float ≥ 0
        γ, the strength of the pull towards ``center``.
    center : Tensor ``(d,)``
        w*, the point the posterior is localised at.
    batch_size : int or None
        Minibatch size m of g_B (with replacement); None: the full gradient g_n.
    record_loss : bool
        Record L_n(w_k) at the saved steps (checked: a non-finite loss is a divergence).

    Orders: Euler–Maruyama on the Langevin SDE dw = −½∇U dt + dW with dt = ε: weak order 1 in ε
    for smooth U (the bias of its stationary law is O(ε)); no strong order is claimed here.

    Examples
    --------
    >>> import torch
    >>> from sgdsde import problems
    >>> from sgdsde.dynamics import integrate
    >>> p = problems.LinearRegression(*problems.gaussian_regression(50, 2, seed=0))
    >>> w = p.minimizer()
    >>> s = SGLD(p, 1e-3, 10.0, localization=1.0, center=w, record_loss=True)
    >>> path = integrate(s, w, 100, chains=4, seed=0, save_every=50)
    >>> path.loss.shape
    torch.Size([3, 4])
    """

    weak_order = 1.0
    strong_order = None

    def __init__(
        self,
        problem: Problem,
        lr: float,
        nbeta: float,
        *,
        localization: float = 0.0,
        center: torch.Tensor,
        batch_size: int | None = None,
        record_loss: bool = True,
    ):
        if not isinstance(problem, Problem):
            raise TypeError(f"problem must be an sgdsde Problem; got {type(problem).__name__}")
        self.problem = problem
        self.lr = as_real("lr", lr, positive=True)
        self.nbeta = as_real("nbeta", nbeta, positive=True)
        self.gamma = as_real("localization", localization, min=0.0)
        self.center = problem._theta(center, "center")
        if self.center.ndim != 1:
            raise ValueError(f"center must have shape (d,) = ({problem.d},)")
        self.batch_size = None if batch_size is None else as_int("batch_size", batch_size, min=1)
        self.record_loss = bool(record_loss)
        self.records = {"loss": ()} if record_loss else {}
        self.checked = ("loss",) if record_loss else ()
        self._sqrt_lr = math.sqrt(self.lr)
        self._draw = None

    def draws(self, x, steps, gen):
        C = x.shape[0]
        chunk = 32
        draw = (
            None
            if self.batch_size is None
            else make_sampler("with_replacement", self.problem.n, self.batch_size, C, gen)
        )
        self._draw = draw
        return _SGLDDraws(x, gen, chunk, draw)

    def step(self, w, z, k):
        noise, idx = z
        g = self.problem.grad(w) if idx is None else self.problem.batch_grad(w, idx)
        drift = g.mul(self.nbeta).add_(w - self.center, alpha=self.gamma)
        return w - (0.5 * self.lr) * drift + self._sqrt_lr * noise

    def observe(self, w, z, k):
        return {"loss": self.problem.loss(w)} if self.record_loss else {}

    def error(self, step, chains, path):
        return SGLDDivergenceError(step, chains, path)


class _SGLDDraws:
    """Gaussian increments (and minibatch indices) for a chunk of SGLD steps."""

    given = None

    def __init__(self, x: torch.Tensor, gen: torch.Generator, chunk: int, draw):
        self.x, self.gen, self.chunk, self.draw = x, gen, chunk, draw

    def fill(self, n=None):
        n = self.chunk if n is None else n
        z = torch.randn(
            (n, *self.x.shape), generator=self.gen, dtype=self.x.dtype, device=self.x.device
        )
        return [(z[i], None if self.draw is None else self.draw()) for i in range(n)]
