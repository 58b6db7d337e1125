"""The one integrator: :func:`integrate` advances a :class:`~sgdsde.dynamics.steppers.base.Stepper`.

Every dynamics of the package (SGD and heavy-ball SGD, Euler–Maruyama with Gaussian or α-stable
noise, SGD's SDE and its order-2 modified equation, the batched double-well escape runs) is a
stepper advanced by this loop; the loop owns what they share:

* random draws for a chunk of steps at a time (the stepper says how to draw them);
* saving every ``save_every`` steps, plus the initial and final state, with the stepper's
  per-save records (e.g. SGD's loss and noise);
* divergence: one cheap reduction per chunk (``sum`` is non-finite iff some entry is, or on
  overflow); when it fires the chunk is replayed from its start with the same draws, testing
  every step, so the first non-finite step and the chains are exact. ``on_divergence="raise"``
  raises the stepper's :class:`~sgdsde.dynamics.path.DivergenceError`; ``"flag"`` freezes those
  chains at their last finite state and goes on;
* stopping rules (:mod:`sgdsde.dynamics.stopping`): horizon, first exit from a set;
* on CUDA, an optional CUDA-graph path replaying whole chunks (graph-safe steppers only).
"""

from __future__ import annotations

from typing import cast

import torch

from .._validate import check_int, check_on_divergence
from .._validate import generator as _generator
from ._cuda_graph import GraphRunner
from .draws import Increments
from .path import Path
from .stopping import Horizon

__all__ = ["integrate"]


class _NoDraws:
    """Draws of a stepper that draws nothing: ``None`` per step, chunks of 32 steps."""

    given = None

    def __init__(self, chunk: int = 32):
        self.chunk = chunk

    def fill(self, n=None):
        return [None] * (self.chunk if n is None else n)


def integrate(
    stepper,
    x0: torch.Tensor,
    steps: int,
    *,
    dt: float | None = None,
    chains: int | None = None,
    seed: int = 0,
    generator: torch.Generator | None = None,
    save_every: int = 1,
    stop=None,
    on_divergence: str = "raise",
    cuda_graph: bool = False,
    progress=None,
) -> Path:
    """Advance ``stepper`` from ``x0`` for ``steps`` steps over an ensemble of chains.

    Parameters
    ----------
    stepper : Stepper
        One step ``x_{k+1} = stepper.step(x_k, z_k, k)`` with draws ``z_k`` from
        ``stepper.draws(...)`` (see :class:`~sgdsde.dynamics.steppers.base.Stepper`).
    x0 : Tensor ``(d,)`` (shared start) or ``(chains, d)``
        Initial state; its dtype and device are used throughout.
    steps : int ≥ 0
        Horizon.
    dt : float, optional
        Time per step (for ``Path.t``); None: the stepper's own clock, else the step index.
    chains : int, optional
        Number of chains when ``x0`` is ``(d,)`` (default 1); must match ``x0``'s rows otherwise.
    seed : int ≥ 0
        Seed of a fresh ``torch.Generator`` on ``x0``'s device (ignored if ``generator``).
    generator : torch.Generator, optional
        Random source to use instead.
    save_every : int ≥ 1
        Save every this many steps (the initial and the final state are always saved).
    stop : Horizon or FirstExit, optional
        Stopping rule besides the horizon (default :class:`~sgdsde.dynamics.stopping.Horizon`).
    on_divergence : ``"raise"`` or ``"flag"``
    cuda_graph : bool
        On CUDA, capture whole chunks of steps in a CUDA graph (``stepper.graph_safe`` steppers
        with random increments, horizon stopping, no per-save records; else ignored).
    progress : object with ``update(n)`` and ``close()``, optional (e.g. a tqdm bar)

    Returns
    -------
    Path

    Examples
    --------
    >>> import torch
    >>> from sgdsde.dynamics import integrate, EulerMaruyama
    >>> ou = EulerMaruyama(lambda x: -x, lambda x: torch.ones_like(x), 0.01)   # dx = −x dt + dW
    >>> path = integrate(ou, torch.zeros(1, dtype=torch.float64), 400, chains=4000,
    ...                  seed=0, save_every=100)
    >>> path.x.shape, path.t.tolist()
    (torch.Size([5, 4000, 1]), [0.0, 1.0, 2.0, 3.0, 4.0])
    >>> abs(float(path.final.var()) - 0.5) < 0.05                        # stationary variance 1/2
    True
    """
    steps = check_int("steps", steps, 0)
    save_every = check_int("save_every", save_every, 1)
    on_divergence = check_on_divergence(on_divergence)
    stop = Horizon() if stop is None else stop
    exits = bool(getattr(stop, "exits", False))
    ce = getattr(stop, "compact_every", None) if exits else None
    x = x0 if isinstance(x0, torch.Tensor) else torch.as_tensor(x0)
    if x.ndim == 1:
        chains = 1 if chains is None else check_int("chains", chains, 1)
        x = x.unsqueeze(0).expand(chains, -1)
    elif x.ndim == 2:
        if chains is not None and chains != x.shape[0]:
            raise ValueError(f"x0 has {x.shape[0]} rows but chains={chains}")
    else:
        raise ValueError(f"x0 must have shape (d,) or (chains, d), got {tuple(x.shape)}")
    x = x.clone().contiguous()
    C, d = x.shape
    dt = getattr(stepper, "dt", None) if dt is None else dt
    dev = x.device
    gen = _generator(dev, seed, generator)
    records = dict(getattr(stepper, "records", {}) or {})
    checked = set(getattr(stepper, "checked", ()) or ())
    if ce is not None and records:
        raise ValueError(
            "a FirstExit rule with compact_every cannot be combined with per-save records"
        )
    draws = stepper.draws(x, steps, gen)
    if draws is None:
        draws = _NoDraws()

    save_steps = list(range(0, steps + 1, save_every))
    if save_steps[-1] != steps:
        save_steps.append(steps)
    T = len(save_steps)
    xs = torch.empty((T, C, d), dtype=x.dtype, device=dev)
    rec: dict[str, list[torch.Tensor | None]] = {name: [None] * T for name in records}
    frozen = torch.zeros(C, dtype=torch.bool, device=dev)
    div_step = torch.full((C,), -1, dtype=torch.long, device=dev)
    exited = torch.zeros(C, dtype=torch.bool, device=dev) if exits else None
    exit_step = torch.full((C,), -1, dtype=torch.long, device=dev) if exits else None
    ids = torch.arange(C, device=dev) if exits else None
    full = None  # with compaction: ensemble-size copies of the per-chain arrays
    if ce is not None:
        assert exit_step is not None  # compact_every is only read from a rule that exits
        full = dict(
            x=x.clone(), div=div_step.clone(), exit=exit_step.clone(), frozen=frozen.clone()
        )
    st = dict(any_held=exits, obs_bad=False)

    def held():
        return frozen | exited if exits else frozen

    def partial(si):
        """The Path of the saves before slot ``si`` (for a DivergenceError)."""
        out = {}
        for name, shape in records.items():
            got = rec[name][:si]
            out[name] = torch.stack(got) if got else x.new_zeros((0, C, *shape))
        st_ = torch.tensor(save_steps[:si], dtype=torch.long, device=dev)
        return _path(stepper, xs[:si], st_, frozen, div_step, dt, out, exit_step)

    def mark(bad, k):
        nonlocal frozen, div_step
        div_step = torch.where(bad & (div_step < 0), k, div_step)
        frozen = frozen | bad
        if hasattr(stepper, "freeze"):
            stepper.freeze(frozen)

    def fail(bad, k, si):
        who = bad.nonzero().flatten()
        who = (ids[who] if ids is not None else who).tolist()
        raise stepper.error(k, who, partial(si))

    def save(si, x, z, k, check):
        if full is not None:
            full["x"].index_copy_(0, ids, x)
            xs[si] = full["x"]
        else:
            xs[si] = x
        if not records:
            return
        bad = None
        for name, v in stepper.observe(x, z, k).items():
            rec[name][si] = v
            if name in checked:
                nf = ~torch.isfinite(v.reshape(v.shape[0], -1)).all(-1)
                bad = nf if bad is None else bad | nf
        if bad is not None:
            bad = bad & ~held()
            if check:
                if bool(bad.any()):
                    mark(bad, k)
                    st["any_held"] = True
                    if on_divergence == "raise":
                        fail(bad, k, si)
            elif bool(bad.any()):
                st["obs_bad"] = True

    def run_chunk(x, z, n, k, si, check):
        nonlocal exited, exit_step
        step = stepper.step
        for i in range(n):
            kk = k + i
            if si < T and kk == save_steps[si]:
                save(si, x, z[i], kk, check)
                si += 1
            new = step(x, z[i], kk)
            if check:
                bad = ~torch.isfinite(new).all(-1) & ~held()
                if bool(bad.any()):
                    mark(bad, kk + 1)
                    st["any_held"] = True
                    if on_divergence == "raise":
                        fail(bad, kk + 1, si)
            if st["any_held"]:
                new = torch.where(held().unsqueeze(-1), x, new)
            if exits:
                out = stop.outside(new, ids) & ~held()
                exit_step = torch.where(out, kk + 1, exit_step)
                exited = exited | out
            x = new
        return x, si

    if exits:  # a chain that starts outside exits at step 0
        assert exited is not None and exit_step is not None
        out = stop.outside(x, ids)
        exit_step = torch.where(out, 0, exit_step)
        exited = exited | out
    graph = None
    if (
        cuda_graph
        and dev.type == "cuda"
        and steps > 0
        and getattr(stepper, "graph_safe", False)
        and isinstance(draws, Increments)
        and draws.given is None
        and not exits
        and not records
    ):
        graph = GraphRunner.try_build(stepper.step, x, draws, save_every)

    k = si = 0
    while k < steps:
        n = min(draws.chunk, steps - k)
        if ce is not None:
            n = min(n, ce - k % ce)
        x_start, si_start = x, si
        snap = stepper.state() if hasattr(stepper, "state") else None
        ex_snap = (exited, exit_step) if exits else None
        st["obs_bad"] = False
        if graph is not None and n == draws.chunk and not st["any_held"]:
            if si < T and save_steps[si] == k:
                xs[si] = x
                si += 1
            x, saved = graph.run(x)
            if graph.inner:
                xs[si : si + saved.shape[0]] = saved
                si += saved.shape[0]
            z = graph.dw
        else:
            z = draws.fill(n)
            x, si = run_chunk(x, z, n, k, si, False)
        if st["obs_bad"] or not bool(torch.isfinite(x.sum())):  # one reduction; replay if it fires
            if snap is not None:
                stepper.restore(snap)
            if exits:
                assert ex_snap is not None
                exited, exit_step = ex_snap
            x, si = run_chunk(x_start, z, n, k, si_start, True)
        k += n
        if progress is not None:
            progress.update(n)
        if ce is not None and k % ce == 0:
            drop = held()
            if bool(drop.any()):
                _write_back(full, ids, x, div_step, exit_step, frozen)
                assert ids is not None and exited is not None and exit_step is not None
                keep = ~drop
                x, ids = x[keep], ids[keep]
                frozen, div_step = frozen[keep], div_step[keep]
                exited, exit_step = exited[keep], exit_step[keep]
                if hasattr(stepper, "select"):
                    stepper.select(keep)
                if draws is not stepper and hasattr(draws, "select"):
                    draws.select(keep)
                if x.shape[0] == 0:
                    break
    if progress is not None:
        progress.close()
    if full is not None:
        _write_back(full, ids, x, div_step, exit_step, frozen)
        x, frozen, div_step, exit_step = full["x"], full["frozen"], full["div"], full["exit"]
        ids = torch.arange(C, device=dev)
        full = None
    while si < T:  # the final state (and, after an early end, the slots left)
        save(si, x, None, save_steps[si], True)
        si += 1
    # every slot is saved by now (the loop above fills the ones an early end left)
    out = {name: torch.stack(cast(list[torch.Tensor], v)) for name, v in rec.items()}
    return _path(
        stepper,
        xs,
        torch.tensor(save_steps, dtype=torch.long, device=dev),
        frozen,
        div_step,
        dt,
        out,
        exit_step,
    )


def _write_back(full, ids, x, div_step, exit_step, frozen):
    full["x"].index_copy_(0, ids, x)
    full["div"].index_copy_(0, ids, div_step)
    full["exit"].index_copy_(0, ids, exit_step)
    full["frozen"].index_copy_(0, ids, frozen)


def _path(stepper, xs, steps_t, frozen, div_step, dt, rec, exit_step) -> Path:
    if hasattr(stepper, "times"):
        t = stepper.times(steps_t)
    else:
        t = steps_t.to(xs.dtype) * (1.0 if dt is None else dt)
    return Path(
        t=t,
        x=xs,
        step=steps_t,
        diverged=frozen.clone(),
        diverged_step=div_step.clone(),
        dt=dt,
        loss=rec.pop("loss", None),
        noise=rec.pop("noise", None),
        exit_step=None if exit_step is None else exit_step.clone(),
        extra=rec,
    )
