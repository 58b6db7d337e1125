"""CUDA-graph replay of whole chunks of steps (used by :func:`~sgdsde.dynamics.core.integrate`)."""

from __future__ import annotations

import warnings

import torch


class GraphRunner:
    """Captures one chunk of L steps of a graph-safe stepper in a CUDA graph and replays it.

    The chunk's increments are drawn into a static buffer before each replay (one kernel). Either
    L is a multiple of ``save_every`` (the graph also copies the states to save), or L divides
    ``save_every`` (states are saved between replays); chunks start at multiples of L, so the
    saved steps are those of the eager loop.
    """

    def __init__(self, step, x, noise, save_every):
        self.noise = noise
        self.n = noise.chunk
        self.dw = noise.buf
        self.x_static = x.clone()
        self.inner = self.n >= save_every
        nsave = self.n // save_every if self.inner else 0
        self.saved = torch.empty((nsave, *x.shape), dtype=x.dtype, device=x.device)
        stream = torch.cuda.Stream(device=x.device)
        stream.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(stream):  # warm-up (cuBLAS handles, allocator) on a scratch copy
            self.dw[: min(3, self.n)].zero_()
            tmp = x.clone()
            for i in range(min(3, self.n)):
                tmp = step(tmp, self.dw[i], i)
        torch.cuda.current_stream(x.device).wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            y = self.x_static
            for i in range(self.n):
                y = step(y, self.dw[i], i)
                if self.inner and (i + 1) % save_every == 0:
                    self.saved[(i + 1) // save_every - 1].copy_(y)
            self.x_static.copy_(y)

    @classmethod
    def try_build(cls, step, x, noise, save_every):
        L = noise.chunk
        if save_every >= L:
            L = max(q for q in range(1, L + 1) if save_every % q == 0)
        else:
            L = (L // save_every) * save_every
        if L != noise.chunk:
            noise.rechunk(L)
        try:
            return cls(step, x, noise, save_every)
        except Exception as exc:  # capture is best-effort: fall back to the eager loop
            warnings.warn(
                f"CUDA graph capture failed ({type(exc).__name__}: {exc}); running eagerly",
                RuntimeWarning,
                stacklevel=4,
            )
            torch.cuda.synchronize(x.device)
            return None

    def run(self, x):
        self.noise.fill()
        self.x_static.copy_(x)
        self.graph.replay()
        return self.x_static.clone(), self.saved
