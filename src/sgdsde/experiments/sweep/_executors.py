"""Executors a sweep runs on: a local process pool (default) or a Dask cluster."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os

__all__ = ["local_executor", "dask_executor", "DaskExecutor", "worker_init"]


def worker_init() -> None:
    """Set-up of a worker process: one torch thread (results bit-identical to a 1-thread
    in-process run, and workers do not compete for cores) and no progress bars."""
    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("TQDM_DISABLE", "1")


def local_executor(workers: int = 2, context: str = "spawn") -> cf.ProcessPoolExecutor:
    """A local pool of ``workers`` processes started with ``context`` (``spawn`` or
    ``forkserver``: a clean interpreter, no state forked from the caller), each with one torch
    thread (``worker_init``).

    Examples
    --------
    >>> with local_executor(1) as ex:
    ...     ex.submit(pow, 2, 10).result()
    1024
    >>> local_executor(0)
    Traceback (most recent call last):
    ...
    ValueError: workers must be an int >= 1; got 0
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1; got {workers!r}")
    if context not in ("spawn", "forkserver"):
        raise ValueError(f"context must be 'spawn' or 'forkserver'; got {context!r}")
    return cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context(context), initializer=worker_init
    )


class DaskExecutor(cf.Executor):
    """A ``concurrent.futures.Executor`` on a ``dask.distributed.Client``: ``submit`` returns a
    ``concurrent.futures.Future``; ``shutdown`` also closes the client (not the cluster).

    Tasks are impure (``pure=False``): each submission runs, and a task whose worker dies is run
    again on another worker by the scheduler.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
    ...     ex = DaskExecutor(Client(cluster, set_as_default=False))
    ...     print(ex.submit(pow, 2, 5).result())
    ...     ex.shutdown()
    32
    """

    def __init__(self, client):
        self.client = client
        self._ex = client.get_executor(pure=False)

    @property
    def address(self) -> str:
        return self.client.scheduler.address

    def submit(self, fn, /, *args, **kwargs):
        """Run ``fn`` with the given arguments on the cluster; return its future."""
        return self._ex.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self._ex.shutdown(wait=wait)
        finally:
            self.client.close()


def dask_executor(address: str, timeout: float = 5.0) -> DaskExecutor:
    """An executor on the Dask scheduler at ``address`` (``tcp://host:port``, or a scheduler
    file's path), e.g. one started by ``dask scheduler`` / ``dask worker`` or by
    ``dask_jobqueue.SLURMCluster`` (its ``.scheduler_address``).

    Raises
    ------
    ConnectionError
        Naming the address when no scheduler answers within ``timeout`` seconds.

    Examples
    --------
    >>> dask_executor("tcp://127.0.0.1:9", timeout=1)   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ConnectionError: no Dask scheduler reachable at 'tcp://127.0.0.1:9' within 1 s (...)
    """
    if not isinstance(address, str) or not address.strip():
        raise ValueError(
            f"address must be a scheduler address like tcp://host:8786; got {address!r}"
        )
    if not (timeout > 0):
        raise ValueError(f"timeout must be > 0 seconds; got {timeout!r}")
    from distributed import Client

    kw = {"scheduler_file": address} if os.path.isfile(address) else {"address": address}
    try:
        client = Client(**kw, timeout=f"{timeout}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConnectionError(
            f"no Dask scheduler reachable at {address!r} within {timeout:g} s ({msg})"
        ) from None
    return DaskExecutor(client)
