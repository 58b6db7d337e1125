"""A one-slot output buffer that is reused only while nothing outside the engine holds it.

Private helper of :class:`sgdsde.problems.TorchModel`. On CPU, a fresh large tensor costs more than
its writes: glibc returns blocks above its mmap threshold to the kernel on free, so every call
page-faults its output in again (for the digits MLP's 64 MB ``(n, d)`` per-sample gradients that
took longer than computing them: 37 ms for ``torch.empty(n, d).fill_(1)`` vs 10 ms for the fill
alone). The CUDA caching allocator already avoids this on GPUs, so the slot is used on CPU only.

Safety rests on the storage's reference count: every tensor (view, slice, ``.numpy()`` array,
autograd-saved tensor, DLPack capsule) that shares the buffer's memory holds one, and so does any
Python reference to its ``UntypedStorage``. The slot hands its memory out again only when both counts
are back at what they were when it was allocated; otherwise it allocates a fresh buffer (and the
old one lives on for as long as its holder keeps it). Without the counting hook
(``torch._C._storage_Use_Count``, present since torch 1.x), every call allocates.
"""
from __future__ import annotations

import math
import sys
import threading

import torch

_use_count = getattr(torch._C, "_storage_Use_Count", None)
MIN_BYTES = 1 << 20  # below this an allocation is cheap (no page-fault storm); nothing is kept


def _holders(buf: torch.Tensor) -> tuple[int, int]:
    """(C++ references to the storage, Python references to its storage object) of ``buf``."""
    s = buf.untyped_storage()
    return _use_count(s._cdata), sys.getrefcount(s)


class ReusableBuffer:
    """One reusable CPU buffer; :meth:`empty` is ``torch.empty`` that recycles a dropped result."""

    def __init__(self):
        self._buf: torch.Tensor | None = None
        self._idle: tuple[int, int] | None = None  # the reference counts when nobody else holds it
        self._lock = threading.Lock()  # check-then-hand-out must be atomic across threads

    def empty(self, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """An uninitialised tensor of ``shape``: the kept buffer if free and the right size, else new."""
        numel = math.prod(shape)
        if torch.device(device).type != "cpu" or _use_count is None or numel * dtype.itemsize < MIN_BYTES:
            return torch.empty(shape, dtype=dtype, device=device)
        with self._lock:
            buf = self._buf
            if buf is None or buf.dtype != dtype or buf.numel() != numel or _holders(buf) != self._idle:
                # a normal (not inference) tensor, so it may be written later outside inference mode
                with torch.inference_mode(False):
                    buf = torch.empty(numel, dtype=dtype)
                self._buf, self._idle = buf, _holders(buf)
            return buf.view(shape)  # a new view: while the caller holds it, the counts differ

    def __deepcopy__(self, memo) -> "ReusableBuffer":
        # a copied problem gets its own empty slot: sharing one would let two problems recycle the
        # same memory, and a lock cannot be copied anyway
        return ReusableBuffer()

    def clear(self) -> None:
        """Drop the kept buffer (its memory is freed once no result of the engine holds it)."""
        with self._lock:
            self._buf = self._idle = None
