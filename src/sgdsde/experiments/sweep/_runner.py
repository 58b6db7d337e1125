"""Run a list of configs of one experiment on an executor, writing each result as it arrives."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import os
from collections.abc import Sequence

from ..record import ExperimentConfig, Record
from ._executors import local_executor
from ._grid import experiment_of
from ._store import append_result, read_results

__all__ = ["run_sweep", "run_config"]


def run_config(name: str, config: dict, device: str | None = None) -> dict:
    """Run one config (as a dict) of experiment ``name`` with one torch thread; the record as a
    dict. The function each worker runs (module level, so it pickles by name).

    Examples
    --------
    >>> d = run_config("wells", {**__import__("sgdsde").experiments.wells.Config(
    ...     n_data=200, strata=3, noise_draws=1000, depths=(0.5,), lrs=(0.05,), batches=(1,),
    ...     chains=4, max_steps=50, control=((0.5, 0.05, 1),)).to_dict()})
    >>> d["experiment"], sorted(d["results"])[:2]
    ('wells', ['alpha_levy', 'control'])
    """
    import torch

    from ..registry import get_experiment

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        exp = get_experiment(name)
        rec = exp.run(exp.Config.from_dict(config), device=device, progress=False)
    finally:
        torch.set_num_threads(threads)
    return dataclasses.asdict(rec)


def _bar(total: int, initial: int, progress):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc="sweep configs",
        unit="config",
        disable=None if progress is None else not progress,
    )


def run_sweep(
    experiment,
    configs: Sequence[ExperimentConfig],
    *,
    out: str | os.PathLike | None = None,
    executor: cf.Executor | None = None,
    workers: int = 2,
    device: str | None = None,
    progress: bool | None = None,
) -> dict[str, Record]:
    """Run every config of ``experiment`` (a registered name) and return the records by
    ``Config.key()``, in the order of ``configs``.

    Each config runs as ``run_config(name, config.to_dict())`` on ``executor`` (anything with a
    ``concurrent.futures`` ``submit``: a process pool, :func:`dask_executor`, ...); by default
    on a local pool of ``workers`` spawned processes (:func:`local_executor`), shut down at the
    end; ``workers=0`` runs them one by one in this process instead. Every worker runs torch on
    one thread, so a record's results are bit-identical wherever it ran.

    With ``out``, each finished record is appended to that JSON-lines file at once (flushed), and
    configs whose key is already in the file are not run again: an interrupted sweep resumes
    where it stopped (a damaged last line is reported and dropped, see :func:`read_results`).
    Duplicate configs run once. A tqdm bar counts configs done / total (``progress``; by default
    it follows ``TQDM_DISABLE``). The pool spawns fresh interpreters: a script that calls this
    must do so under ``if __name__ == "__main__":``.

    Raises
    ------
    ValueError, TypeError
        For an unknown experiment, or a config that is not the experiment's ``Config``.

    Examples
    --------
    >>> from sgdsde.experiments.sweep import grid
    >>> cs = grid("grokking", "ci", steps=[2], log_every=[1], noise_every=[0], seed=[0, 1])
    >>> recs = run_sweep("grokking", cs, workers=0)
    >>> [r.seed for r in recs.values()]
    [0, 1]
    """
    exp = experiment_of(experiment)
    configs = list(configs)
    for c in configs:
        if not isinstance(c, exp.Config):
            raise TypeError(f"configs must be {exp.name}.Config instances; got {type(c).__name__}")
    keyed = {c.key(): c for c in configs}  # duplicates collapse, order kept
    done: dict[str, Record] = {}
    if out is not None:
        done = {k: r for k, r in read_results(out, exp.name, repair=True).items() if k in keyed}
    todo = [(k, c) for k, c in keyed.items() if k not in done]
    bar = _bar(len(keyed), len(done), progress)

    def finish(k: str, d: dict) -> None:
        rec = Record(**d)
        done[k] = rec
        if out is not None:
            append_result(out, exp.name, k, rec)
        bar.update(1)

    try:
        if todo and executor is None and workers == 0:
            for k, c in todo:
                finish(k, run_config(exp.name, c.to_dict(), device))
        elif todo:
            own = executor is None
            ex: cf.Executor = (
                local_executor(min(workers, len(todo))) if executor is None else executor
            )
            futs: dict = {}
            try:
                for k, c in todo:
                    futs[ex.submit(run_config, exp.name, c.to_dict(), device)] = k
                for f in cf.as_completed(futs):
                    finish(futs[f], f.result())
            except BaseException:
                for f in futs:
                    f.cancel()
                raise
            finally:
                if own:
                    ex.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()
    return {k: done[k] for k in keyed}
