"""The SGD stepper: plain SGD and heavy ball on a Problem, minibatches from a sampling scheme.

Examples
--------
>>> from sgdsde.dynamics.steppers.sgd import SGD
>>> SGD.strong_order is None
True
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ...problems import Problem
from ...sampling import make_sampler
from .base import Stepper, _BatchDraws

__all__ = ["SGD"]


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
