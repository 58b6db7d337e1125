"""A sweep on a real local Dask cluster: a scheduler and two workers as separate processes on
127.0.0.1 (ports chosen by the OS, found through a scheduler file). One worker is killed after
the first result arrives; every config's result must still arrive exactly once and equal the
in-process run bit for bit. The processes are always torn down."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from sgdsde.experiments.sweep import dask_executor, grid, read_results, run_sweep

torch.set_num_threads(1)

SRC = str(Path(__file__).resolve().parents[1] / "src")
TINY = dict(n_data=[300], strata=[3], noise_draws=[1000], depths=[(0.5, 1.0)], batches=[(1,)],
            chains=[8], max_steps=[400])


def _spawn(args, env, log):
    return subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=log, stderr=log,
                            start_new_session=True)


@pytest.fixture
def cluster(tmp_path):
    """(scheduler file, [worker processes]); every process is killed at teardown."""
    env = {**os.environ, "PYTHONPATH": SRC, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1",
           "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    sfile = tmp_path / "scheduler.json"
    log = open(tmp_path / "cluster.log", "w")
    procs = []
    try:
        procs.append(_spawn(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                             "0", "--no-dashboard", "--scheduler-file", str(sfile)], env, log))
        t0 = time.monotonic()
        while not sfile.exists():
            assert procs[0].poll() is None, (tmp_path / "cluster.log").read_text()
            assert time.monotonic() - t0 < 60, "scheduler did not start within 60 s"
            time.sleep(0.1)
        workers = [
            _spawn(["distributed.cli.dask_worker", "--scheduler-file", str(sfile), "--nthreads",
                    "1", "--no-nanny", "--host", "127.0.0.1", "--no-dashboard", "--name",
                    f"w{i}"], env, log)
            for i in range(2)
        ]
        procs += workers
        yield sfile, workers
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
        log.close()


def test_sweep_on_a_real_cluster_survives_a_killed_worker(cluster, tmp_path):
    sfile, workers = cluster
    configs = grid("escape_phase", "ci", **TINY, seed=list(range(6)))
    ex = dask_executor(str(sfile), timeout=30)
    try:
        t0 = time.monotonic()
        while len(ex.client.scheduler_info(n_workers=-1)["workers"]) < 2:
            assert time.monotonic() - t0 < 60, "two workers did not join within 60 s"
            time.sleep(0.1)
        out = tmp_path / "s.jsonl"
        killed = threading.Event()

        def kill_after_first_result():           # watch the results file from another thread
            while not killed.is_set():
                if out.exists() and out.read_text().count("\n") >= 1:
                    workers[1].kill()
                    killed.set()
                time.sleep(0.02)

        watcher = threading.Thread(target=kill_after_first_result, daemon=True)
        watcher.start()
        recs = run_sweep("escape_phase", configs, out=out, executor=ex)
        killed.set()
        watcher.join()
    finally:
        ex.shutdown()
    assert workers[1].wait(timeout=10) is not None          # the worker really died
    keys = [json.loads(line)["key"] for line in out.read_text().splitlines()]
    assert sorted(keys) == sorted(c.key() for c in configs)  # every result exactly once
    local = run_sweep("escape_phase", configs, workers=0)
    assert {k: r.results for k, r in recs.items()} == {k: r.results for k, r in local.items()}
    assert {k: r.results for k, r in read_results(out).items()} == {
        k: r.results for k, r in local.items()}
