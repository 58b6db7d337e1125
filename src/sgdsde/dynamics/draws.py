"""Random increments for the steppers, drawn in chunks of many steps at once.

Drawing the increments dominates the cost of a cheap SDE step on CPU, so they are drawn for a
chunk of steps into one reused buffer (:class:`Increments`), with a vectorised Box–Muller
transform for float64 on CPU (:func:`standard_normal_`).
"""

from __future__ import annotations

import math

import torch

from ..levy import symmetric_stable

__all__ = ["standard_normal_", "Increments", "CHUNK_ELEMENTS_CPU", "CHUNK_ELEMENTS_CUDA"]

#: Target number of pre-drawn increment entries per chunk (CPU / CUDA).
CHUNK_ELEMENTS_CPU = 1 << 18
CHUNK_ELEMENTS_CUDA = 1 << 24


def standard_normal_(buf: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """Fill ``buf`` with i.i.d. N(0, 1) in place and return it.

    On CPU in float64, torch's ``normal_`` is a scalar loop (~100 ns per draw on this kind of
    machine); an explicit vectorised Box–Muller transform of float64 uniforms,
    ``sqrt(-2 log(1 - U1)) * (cos, sin)(2π U2)``, is exact in law and about 2× faster. Elsewhere
    torch's own sampler is used.

    Examples
    --------
    >>> b = standard_normal_(torch.empty(100_000, dtype=torch.float64), torch.Generator().manual_seed(0))
    >>> abs(float(b.mean())) < 0.02, abs(float(b.var()) - 1) < 0.02
    (True, True)
    """
    n = buf.numel()
    if buf.device.type != "cpu" or buf.dtype != torch.float64 or n < 64 or not buf.is_contiguous():
        return buf.normal_(generator=gen)
    flat = buf.view(-1)
    h = (n + 1) // 2
    u = torch.empty((2, h), dtype=buf.dtype).uniform_(generator=gen)
    r = u[0].neg_().log1p_().mul_(-2.0).sqrt_()  # sqrt(-2 log(1 - U1)), U1 in [0, 1)
    th = u[1].mul_(2.0 * math.pi)
    torch.mul(r[: n - h], torch.sin(th[: n - h]), out=flat[h:])
    torch.mul(r, th.cos_(), out=flat[:h])
    return buf


class Increments:
    """Standard increments (N(0, 1) or S_α) of shape ``shape`` for each step, drawn a chunk of
    steps at a time into one reused buffer, or read from a given ``(steps, *shape)`` tensor.

    Parameters
    ----------
    kind : ``"gaussian"`` or ``"alpha_stable"``
    alpha : float or None (the stability index for ``"alpha_stable"``)
    shape : tuple, one step's draw (e.g. ``(chains, m)``)
    steps : int, the number of steps of the run
    dtype, device, gen : of the draws
    stable_scale : float, scale of the stable draws (1: E e^{iuS} = e^{−|u|^α})
    chunk_elements : int, optional; target entries per chunk
    given : Tensor ``(steps, *shape)``, optional; the draws to use instead of random ones

    Attributes
    ----------
    chunk : int, steps per chunk; ``fill(n)`` returns ``(n, *shape)`` with n ≤ chunk

    Examples
    --------
    >>> inc = Increments("gaussian", None, (4, 2), 10, torch.float64, torch.device("cpu"),
    ...                  torch.Generator().manual_seed(0), chunk_elements=24)
    >>> inc.chunk, inc.fill().shape, inc.fill(1).shape
    (3, torch.Size([3, 4, 2]), torch.Size([1, 4, 2]))
    """

    def __init__(
        self,
        kind: str,
        alpha,
        shape: tuple[int, ...],
        steps: int,
        dtype,
        device,
        gen,
        stable_scale: float = 1.0,
        chunk_elements: int | None = None,
        given: torch.Tensor | None = None,
    ):
        self.kind, self.alpha, self.gen, self.stable_scale = kind, alpha, gen, stable_scale
        self.given, self.pos = None, 0
        if given is not None:
            if not isinstance(given, torch.Tensor):
                raise TypeError("increments must be a torch.Tensor")
            if tuple(given.shape) != (steps, *shape):
                raise ValueError(
                    f"increments must have shape (steps, chains, m) = "
                    f"{(steps, *shape)}, got {tuple(given.shape)}"
                )
            self.given = given.to(dtype=dtype, device=device)
        per_step = max(1, math.prod(shape))
        if chunk_elements is None:
            chunk_elements = (
                CHUNK_ELEMENTS_CUDA if torch.device(device).type == "cuda" else CHUNK_ELEMENTS_CPU
            )
        self.chunk = max(1, min(steps, chunk_elements // per_step)) if steps > 0 else 1
        self.buf = (
            None
            if given is not None
            else torch.empty((self.chunk, *shape), dtype=dtype, device=device)
        )

    def fill(self, n: int | None = None) -> torch.Tensor:
        """The draws of the next ``n`` steps (default: one chunk), ``(n, *shape)``."""
        n = self.chunk if n is None else n
        if self.given is not None:
            b = self.given[self.pos : self.pos + n]
            self.pos += n
            return b
        buf = self.buf
        assert buf is not None  # allocated whenever no draws are given
        b = buf if n == self.chunk else buf[:n]
        if self.kind == "gaussian":
            standard_normal_(b, self.gen)
        else:
            symmetric_stable(
                self.alpha, tuple(b.shape), scale=self.stable_scale, generator=self.gen, out=b
            )
        return b

    def select(self, keep: torch.Tensor) -> None:
        """Keep only the chains ``keep`` (a mask or indices along the chain axis, dim 1 of a step's
        draw ``(chains, m)``) from now on."""
        if self.given is not None:
            self.given = self.given[:, keep]
        else:
            buf = self.buf
            assert buf is not None  # allocated whenever no draws are given
            rows = int(keep.sum()) if keep.dtype == torch.bool else int(keep.numel())
            self.buf = torch.empty(
                (self.chunk, rows, *buf.shape[2:]),
                dtype=buf.dtype,
                device=buf.device,
            )

    def rechunk(self, chunk: int) -> None:
        """Use chunks of ``chunk`` steps from now on (reallocates the buffer)."""
        self.chunk = chunk
        if self.buf is not None:
            self.buf = torch.empty(
                (chunk, *self.buf.shape[1:]), dtype=self.buf.dtype, device=self.buf.device
            )
