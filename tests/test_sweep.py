"""The sweep runner (sgdsde.experiments.sweep): local pool = in-process loop bit for bit, an
interrupted sweep resumes without rerunning a finished config, bad input names the thing."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from sgdsde.experiments.sweep import SweepFileWarning, dask_executor, grid, read_results, run_sweep
from sgdsde.experiments.sweep.__main__ import main

torch.set_num_threads(1)

#: A one-column escape_phase config that runs in well under a second.
TINY = dict(n_data=[300], strata=[3], noise_draws=[1000], depths=[(0.5, 1.0)], batches=[(1,)],
            chains=[8], max_steps=[200])
SRC = str(Path(__file__).resolve().parents[1] / "src")


def tiny_grid(seeds=(0, 1, 2, 3)):
    return grid("escape_phase", "ci", **TINY, seed=list(seeds))


def results(recs):
    return {k: r.results for k, r in recs.items()}


@pytest.fixture(scope="module")
def reference():
    """The sweep run one config after another in this process."""
    return results(run_sweep("escape_phase", tiny_grid(), workers=0))


def test_grid_is_a_cartesian_product_over_the_profile():
    cs = grid("escape_phase", "ci", lr=[0.05, 0.1], seed=[0, 1, 2])
    assert [(c.lr, c.seed) for c in cs] == [(a, b) for a in (0.05, 0.1) for b in (0, 1, 2)]
    assert len({c.key() for c in cs}) == 6 and all(c.chains == 256 for c in cs)
    assert grid("escape_phase", "gpu", seed=[1])[0].chains == 2048


def test_local_pool_equals_in_process_loop_bit_for_bit(reference, tmp_path):
    out = tmp_path / "s.jsonl"
    recs = run_sweep("escape_phase", tiny_grid(), out=out, workers=2)
    assert results(recs) == reference                       # exact equality, floats and all
    assert list(recs) == [c.key() for c in tiny_grid()]
    assert results(read_results(out, "escape_phase")) == reference
    assert len(out.read_text().splitlines()) == 4


def _fail(f: cf.Future) -> None:
    try:
        f.set_exception(RuntimeError("worker died"))
    except cf.InvalidStateError:             # the sweep cancelled what it no longer waits for
        pass


class _DiesAfter(cf.Executor):
    """Runs each task in this process; after ``k`` results every further one fails a moment
    later (a crash while they run), so the ``k`` finished results are written first."""

    def __init__(self, k):
        self.k, self.n = k, 0

    def submit(self, fn, /, *args, **kwargs):
        f = cf.Future()
        self.n += 1
        if self.n <= self.k:
            f.set_result(fn(*args, **kwargs))
        else:
            threading.Timer(0.3, _fail, [f]).start()
        return f


def test_interrupted_sweep_resumes_without_rerunning(reference, tmp_path):
    out = tmp_path / "s.jsonl"
    with pytest.raises(RuntimeError, match="worker died"):
        run_sweep("escape_phase", tiny_grid(), out=out, executor=_DiesAfter(2))
    first = [json.loads(line)["key"] for line in out.read_text().splitlines()]
    assert len(first) == 2
    ran = []

    class Counting(cf.ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            ran.append(args[1]["seed"])
            return super().submit(fn, *args, **kwargs)

    with Counting(1) as ex:
        recs = run_sweep("escape_phase", tiny_grid(), out=out, executor=ex)
    assert len(ran) == 4 - len(first)                       # finished configs are not rerun
    keys = [json.loads(line)["key"] for line in out.read_text().splitlines()]
    assert sorted(keys) == sorted(c.key() for c in tiny_grid())   # each exactly once
    assert results(recs) == reference


def test_killed_command_line_sweep_resumes(reference, tmp_path):
    """A real kill: the command-line sweep is SIGKILLed after its first line, a torn line is
    left at the end of the file; the rerun reports it, drops it and finishes the rest."""
    out = tmp_path / "s.jsonl"
    args = [sys.executable, "-m", "sgdsde.experiments.sweep", "escape_phase", "--workers", "0",
            "--out", str(out), "--grid", "seed=0,1,2,3"]
    for k, (v,) in TINY.items():
        args += ["--set", f"{k}={v!r}"]
    env = {**os.environ, "PYTHONPATH": SRC, "TQDM_DISABLE": "1"}
    p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.monotonic()
    while not (out.exists() and out.read_text().count("\n") >= 1):
        assert p.poll() is None or out.exists(), p.stderr.read().decode()
        assert time.monotonic() - t0 < 60, "no result within 60 s"
        time.sleep(0.05)
    p.kill()
    p.wait()
    n_done = out.read_text().count("\n")
    with open(out, "a") as f:
        f.write('{"experiment": "escape_phase", "key": "0123')       # torn by the kill
    with pytest.warns(SweepFileWarning, match="damaged last line"):
        recs = run_sweep("escape_phase", tiny_grid(), out=out, workers=0)
    lines = out.read_text().splitlines()
    assert len(lines) == 4 and n_done >= 1
    assert sorted(json.loads(s)["key"] for s in lines) == sorted(c.key() for c in tiny_grid())
    assert results(recs) == reference


def test_damaged_line_inside_the_file_is_an_error(tmp_path):
    out = tmp_path / "s.jsonl"
    out.write_text('garbage\n{"experiment": "escape_phase"}\n')
    with pytest.raises(ValueError, match="line 1 is not a sweep result"):
        read_results(out, "escape_phase")


@pytest.mark.parametrize(
    "args, message",
    [
        (["welz", "--grid", "seed=0,1"], "unknown experiment 'welz'"),
        (["escape_phase", "--grid", "chainz=1,2"], "unknown field(s) ['chainz']"),
        (["escape_phase", "--profile", "huge", "--grid", "seed=0,1"], "unknown profile 'huge'"),
        (["escape_phase", "--grid", "seed"], "--grid needs FIELD=V1,V2"),
        (["escape_phase", "--grid", "seed=1", "--set", "seed=2"], "both as --set and as --grid"),
    ],
)
def test_cli_bad_input_exits_2_naming_it(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_grid_bad_input_names_it():
    with pytest.raises(ValueError, match="unknown experiment 'welz'"):
        grid("welz", seed=[0])
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['chainz'\]"):
        grid("escape_phase", chainz=[1])
    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        grid("escape_phase", "huge", seed=[0])
    with pytest.raises(ValueError, match="axis 'seed' has no values"):
        grid("escape_phase", seed=[])
    with pytest.raises(TypeError, match="configs must be escape_phase.Config"):
        run_sweep("escape_phase", grid("wells", seed=[0]), workers=0)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_fails_fast_naming_the_address(capsys):
    addr = f"tcp://127.0.0.1:{_closed_port()}"
    t0 = time.monotonic()
    with pytest.raises(ConnectionError, match=f"no Dask scheduler reachable at '{addr}'"):
        dask_executor(addr, timeout=2)
    assert time.monotonic() - t0 < 10
    assert main(["escape_phase", "--grid", "seed=0,1", "--address", addr, "--timeout", "2"]) == 2
    assert f"no Dask scheduler reachable at '{addr}'" in capsys.readouterr().err
