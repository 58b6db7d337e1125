"""The one result type of the dynamics core, :class:`Path`, and :class:`DivergenceError`.

Every engine that advances a state in steps (``sgd.run``, ``sde.simulate``, ``sde.sgd_sde``,
``experiments.wells.escape_times``, and :func:`~sgdsde.dynamics.core.integrate` itself) returns a
:class:`Path`. ``sgdsde.sgd.Trajectory`` *is* this class (the SGD view): ``.theta`` is the same
tensor as ``.x`` and ``.final`` its last saved row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["Path", "DivergenceError"]


class DivergenceError(RuntimeError):
    """A state of the dynamics became non-finite (NaN or ±inf).

    Attributes ``step`` (first step k whose state x_k is non-finite), ``chains`` (the chains
    non-finite at that step) and ``trajectory`` (the :class:`Path` saved before that step).
    ``sgdsde.sgd.DivergenceError`` and ``sgdsde.sde.DivergenceError`` are subclasses with their own
    messages.

    Examples
    --------
    >>> err = DivergenceError(7, [0, 3])
    >>> err.step, err.chains, "step 7" in str(err)
    (7, [0, 3], True)
    """

    def __init__(
        self, step: int, chains: list, trajectory: Path | None = None, what: str = "state"
    ):
        self.step, self.chains, self.trajectory = step, chains, trajectory
        shown = chains if len(chains) <= 20 else chains[:20] + ["..."]
        super().__init__(
            f"dynamics diverged at step {step}: the {what} is non-finite (NaN/inf) in "
            f'{len(chains)} chain(s) {shown}. Use on_divergence="flag" to freeze those '
            "chains and continue."
        )


@dataclass
class Path:
    """Saved states of an ensemble of chains, and what the run recorded beside them.

    One class for every engine. SGD runs (``sgd.run``) call it ``Trajectory`` and read ``theta``
    (the same tensor as ``x``); SDE runs read ``x`` and ``t``.

    Attributes
    ----------
    t : Tensor ``(T,)``
        Time of each saved state: ``step * dt`` for an SDE; for SGD the elapsed learning-rate sum
        Σ_{j<k} η_j (``k η`` at a constant rate).
    x : Tensor ``(T, chains, d)``
        Saved states (θ_k for SGD). Always the initial and the final state.
    step : LongTensor ``(T,)``
        Step index of each saved state (0 = initial state).
    diverged : BoolTensor ``(chains,)``
        Chains that became non-finite (frozen at their last finite state; only with
        ``on_divergence="flag"``).
    diverged_step : LongTensor ``(chains,)``
        First step whose state (or a checked record such as the loss) was non-finite, −1 if none.
    dt : float or None
        Time step (None for SGD with a learning-rate schedule).
    loss : Tensor ``(T, chains)`` or None
        L_n(θ_k) at the saved steps (SGD with ``record_loss=True``).
    noise : Tensor ``(T, chains, d)`` or None
        ξ_k = g_n(θ_k) − g_{B_k}(θ_k) at the saved steps (SGD with ``record_noise=True``).
    lr : Tensor ``(steps,)`` or None
        η_k of every step (SGD; float64, CPU).
    exit_step : LongTensor ``(chains,)`` or None
        With a first-exit stopping rule: the first step at which the chain was outside the set,
        −1 if it never left within the horizon (censored).
    extra : dict
        Other per-save records of a stepper, name → ``(T, chains, ...)``.

    Examples
    --------
    >>> import torch
    >>> from sgdsde.sde import simulate
    >>> path = simulate(lambda x: -x, lambda x: torch.ones_like(x), torch.zeros(3), 0.1, 10,
    ...                 chains=4, save_every=5)
    >>> path.x.shape, path.t.tolist()
    (torch.Size([3, 4, 3]), [0.0, 0.5, 1.0])
    >>> path.theta is path.x, path.final.shape
    (True, torch.Size([4, 3]))
    """

    t: torch.Tensor
    x: torch.Tensor
    step: torch.Tensor
    diverged: torch.Tensor
    diverged_step: torch.Tensor
    dt: float | None = None
    loss: torch.Tensor | None = None
    noise: torch.Tensor | None = None
    lr: torch.Tensor | None = None
    exit_step: torch.Tensor | None = None
    extra: dict = field(default_factory=dict)

    @property
    def theta(self) -> torch.Tensor:
        """θ at the saved steps, ``(T, chains, d)``: the same tensor as ``x`` (the SGD name)."""
        return self.x

    @property
    def final(self) -> torch.Tensor:
        """The state at the last saved step, ``(chains, d)``."""
        return self.x[-1]

    @property
    def censored(self) -> torch.Tensor | None:
        """BoolTensor ``(chains,)``: chains that had not left the set by the horizon (first exit)."""
        return None if self.exit_step is None else self.exit_step < 0
