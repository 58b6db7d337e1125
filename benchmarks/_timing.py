"""The one timer of the benchmarks: the median wall time of repeated calls, device-synchronised."""
from __future__ import annotations

import statistics
import time

import torch


def sync(device) -> None:
    """Wait for queued CUDA work, so that a timing covers the computation, not its launch."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timeit(fn, device, repeats=3, warmup=1) -> float:
    """Median wall time (s) of ``repeats`` calls of ``fn`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)
