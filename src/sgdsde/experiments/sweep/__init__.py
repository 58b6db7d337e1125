"""Parameter sweeps: many configs of one registered experiment, on a local pool or a Dask cluster.

:func:`grid` builds the cartesian product of field values over a named profile;
:func:`run_sweep` runs each config through the experiment's ``run`` on any
``concurrent.futures``-style executor — by default a local pool of spawned processes
(:func:`local_executor`, nothing to start), or a Dask cluster (:func:`dask_executor` with the
scheduler's address; on Slurm through ``dask_jobqueue.SLURMCluster``). Results are keyed by
``Config.key()`` and appended to a JSON-lines file as they arrive, so an interrupted sweep
resumes where it stopped and never runs a finished config twice. Workers run torch on one
thread: a record is bit-identical whether it ran in a loop here, in the pool or on a cluster.

Command line::

    python -m sgdsde.experiments.sweep NAME [--profile ci] --grid FIELD=V1,V2 [--grid ...]
        [--set FIELD=VALUE ...] --out results.jsonl [--workers N | --address tcp://host:8786]

Layout: ``_grid`` (grids), ``_store`` (the JSON-lines file), ``_executors`` (pool, Dask),
``_runner`` (:func:`run_sweep`), ``__main__`` (the command line).

Examples
--------
>>> cs = grid("grokking", "ci", steps=[2], log_every=[1], noise_every=[0], seed=[0, 1])
>>> recs = run_sweep("grokking", cs, workers=0)
>>> list(recs) == [c.key() for c in cs]
True
"""

from __future__ import annotations

from ._executors import DaskExecutor, dask_executor, local_executor
from ._grid import grid
from ._runner import run_config, run_sweep
from ._store import SweepFileWarning, append_result, read_results

__all__ = [
    "grid",
    "run_sweep",
    "run_config",
    "local_executor",
    "dask_executor",
    "DaskExecutor",
    "read_results",
    "append_result",
    "SweepFileWarning",
]
