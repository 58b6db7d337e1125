"""Benchmarks of the sweep runner (sgdsde.experiments.sweep), against a plain loop in the same run.

Rows (format in ``run_all.py``; ratio = loop time / sweep time, higher is better):

1. ``sweep local pool [2 workers]``: N small ``escape_phase`` configs (one column each, about a
   second of work) on the default local pool of 2 spawned processes, timed end to end (pool start
   included) against the same configs one by one in this process (``run_sweep(workers=0)``, one
   torch thread). Ideal: 2× on 2 free cores.
2. ``sweep Dask LocalCluster [2 workers]``: the same on a 2-worker, 1-thread-per-worker
   ``distributed.LocalCluster`` (processes), started beforehand (its start-up is in the note).
3. ``scheduling overhead per config``: a trivial config (a few microseconds of work) submitted
   and awaited one at a time on a warm executor, minus the same call in this process: the
   round-trip cost of one config in milliseconds (``ours_s``: the executor's median per config,
   ``anchor_s``: the in-process median; ratio = anchor / ours).

Medians over repeats (benchmarks/_timing.py). ``--quick``: fewer configs and repeats.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
from _timing import timeit  # noqa: E402

from sgdsde.experiments.sweep import grid, local_executor, run_config, run_sweep  # noqa: E402
from sgdsde.experiments.sweep._executors import DaskExecutor  # noqa: E402

SMALL = dict(n_data=[2000], strata=[3], noise_draws=[4000], depths=[(0.5, 1.0)], batches=[(2,)],
             chains=[64], max_steps=[600])
TRIVIAL = dict(n_data=[20], strata=[1], noise_draws=[100], depths=[(0.5,)], batches=[(1,)],
               chains=[2], max_steps=[1])


def _round_trips(ex, cfg: dict, n: int) -> float:
    """Median seconds of one submit → result of ``cfg`` on ``ex`` (after one warm-up)."""
    ex.submit(run_config, "escape_phase", cfg).result()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        ex.submit(run_config, "escape_phase", cfg).result()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main(device: str = "cpu", quick: bool = False) -> list[dict]:
    """Run the sweep benchmarks (CPU only: the sweep's workers are CPU processes); rows."""
    if torch.device(device).type != "cpu":
        return []
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    n_cfg, reps = (4, 1) if quick else (8, 3)
    cfgs = grid("escape_phase", "ci", **SMALL, seed=list(range(n_cfg)))
    trivial = grid("escape_phase", "ci", **TRIVIAL)[0].to_dict()
    rows = []
    try:
        loop = timeit(lambda: run_sweep("escape_phase", cfgs, workers=0), device, reps, 0)
        pool = timeit(lambda: run_sweep("escape_phase", cfgs, workers=2), device, reps, 0)
        rows.append(dict(name=f"sweep local pool [2 workers] ({n_cfg} configs)",
                         anchor="the same configs in a loop, 1 thread", ours_s=pool,
                         anchor_s=loop, ratio=loop / pool, target=None,
                         note="end to end, spawning the pool included; ideal 2× on 2 free cores"))
        from distributed import Client, LocalCluster

        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        ex = DaskExecutor(Client(cluster, set_as_default=False))
        start = time.perf_counter() - t0
        try:
            dask = timeit(lambda: run_sweep("escape_phase", cfgs, executor=ex), device, reps, 1)
            rows.append(dict(name=f"sweep Dask LocalCluster [2 workers] ({n_cfg} configs)",
                             anchor="the same configs in a loop, 1 thread", ours_s=dask,
                             anchor_s=loop, ratio=loop / dask, target=None,
                             note=f"cluster started beforehand ({start:.1f} s); ideal 2×"))
            here = timeit(lambda: run_config("escape_phase", trivial), device, 20, 2)
            with local_executor(2) as pex:
                t_pool = _round_trips(pex, trivial, 20)
            t_dask = _round_trips(ex, trivial, 20)
            for what, t in (("local pool", t_pool), ("Dask LocalCluster", t_dask)):
                rows.append(dict(name=f"scheduling overhead per config, {what}",
                                 anchor="the trivial config in this process", ours_s=t,
                                 anchor_s=here, ratio=here / t, target=None,
                                 note=f"overhead {1e3 * (t - here):.1f} ms per config"))
        finally:
            ex.shutdown()
            cluster.close()
    finally:
        torch.set_num_threads(old)
    return rows


if __name__ == "__main__":
    for r in main():
        print(r)
