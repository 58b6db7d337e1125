"""Minibatch index schemes of notes §1.5, drawn for many chains at once.

Every sampler returns a LongTensor of indices ``(chains, B)`` into ``{0, …, n−1}`` on the device of
its ``torch.Generator`` (so CUDA runs draw on the GPU). Rows are independent chains.

* ``with_replacement``: the B entries of a row are i.i.d. uniform on ``{0, …, n−1}``.
* ``without_replacement``: a row is a uniformly random set of B distinct indices (in random order),
  drawn afresh at every step.
* ``reshuffle`` (:class:`Reshuffler`): epochs; each chain draws a fresh uniform permutation of
  ``{0, …, n−1}`` per epoch and cuts it into ⌊n/B⌋ consecutive batches. When n is not a multiple
  of B, the last n mod B indices of each permutation are dropped (``drop_last``), so every batch
  has exactly B distinct indices and a single batch is a uniform B-subset.
"""
from __future__ import annotations

from typing import Callable

import torch

__all__ = ["with_replacement", "without_replacement", "Reshuffler", "make_sampler", "SCHEMES"]

#: The scheme names accepted by :func:`make_sampler` (and ``sgd.run(sampling=...)``).
SCHEMES = ("with_replacement", "without_replacement", "reshuffle")


def _check(n, batch_size, chains, generator, *, distinct: bool) -> torch.device:
    for name, v in (("n", n), ("batch_size", batch_size), ("chains", chains)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    if chains < 1:
        raise ValueError(f"chains must be >= 1; got {chains}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    if distinct and batch_size > n:
        raise ValueError(
            f"batch_size must be in [1, n] = [1, {n}] when sampling without replacement; got {batch_size}"
        )
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator.device if generator is not None else torch.device("cpu")


def with_replacement(n: int, batch_size: int, chains: int,
                     generator: torch.Generator | None) -> torch.Tensor:
    """Indices i.i.d. uniform on ``{0, …, n−1}``: ``(chains, batch_size)``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> idx = with_replacement(5, 3, 2, g)
    >>> idx.shape, idx.dtype, bool(((0 <= idx) & (idx < 5)).all())
    (torch.Size([2, 3]), torch.int64, True)
    """
    dev = _check(n, batch_size, chains, generator, distinct=False)
    return torch.randint(n, (chains, batch_size), generator=generator, device=dev)


def without_replacement(n: int, batch_size: int, chains: int,
                        generator: torch.Generator | None) -> torch.Tensor:
    """Per chain, a uniformly random set of ``batch_size`` distinct indices: ``(chains, batch_size)``.

    Exact, with no rejection loop. For B² ≤ n, Floyd's algorithm, vectorised over chains
    (B rounds, O(chains·B²)), followed by a uniform shuffle of each row; otherwise the indices of
    the B largest of n i.i.d. uniform float64 keys per row (``topk``, O(chains·n)), which are a
    uniform B-subset in uniform random order. Either way, every ordered B-tuple of distinct
    indices has probability (n−B)!/n!.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> idx = without_replacement(6, 6, 3, g)
    >>> bool((idx.sort(-1).values == torch.arange(6)).all())
    True
    >>> idx = without_replacement(1000, 20, 4, g)                   # Floyd's algorithm
    >>> idx.shape, bool((idx.sort(-1).values.diff(dim=-1) > 0).all())
    (torch.Size([4, 20]), True)
    """
    dev = _check(n, batch_size, chains, generator, distinct=True)
    B = batch_size
    if B * B <= n:
        # Floyd: for j = n−B, …, n−1 draw t uniform on {0, …, j}; keep t unless already taken, else j.
        out = torch.empty(chains, B, dtype=torch.long, device=dev)
        for i, j in enumerate(range(n - B, n)):
            t = torch.randint(j + 1, (chains,), generator=generator, device=dev)
            taken = (out[:, :i] == t.unsqueeze(-1)).any(-1)
            out[:, i] = torch.where(taken, torch.full_like(t, j), t)
        if B == 1:
            return out
        keys = torch.rand(chains, B, generator=generator, device=dev, dtype=torch.float64)
        return out.gather(1, keys.argsort(-1))  # Floyd's order is not uniform: shuffle each row
    keys = torch.rand(chains, n, generator=generator, device=dev, dtype=torch.float64)
    return keys.topk(B, dim=-1).indices  # sorted by key: a uniform order


class Reshuffler:
    """Random reshuffling: a fresh permutation per chain per epoch, cut into consecutive batches.

    Each epoch holds ⌊n/B⌋ batches; the last ``n mod B`` indices of a permutation are dropped.

    Parameters
    ----------
    n, batch_size, chains : int (1 ≤ batch_size ≤ n)
    generator : torch.Generator or None (global RNG)

    Attributes
    ----------
    epoch : int, the number of permutations drawn so far
    batches_per_epoch : int, ⌊n/B⌋

    Examples
    --------
    >>> r = Reshuffler(4, 2, chains=3, generator=torch.Generator().manual_seed(0))
    >>> ep = torch.cat([r.draw(), r.draw()], dim=1)        # one full epoch per chain
    >>> bool((ep.sort(-1).values == torch.arange(4)).all()), r.epoch
    (True, 1)
    """

    def __init__(self, n: int, batch_size: int, chains: int, generator: torch.Generator | None):
        self.device = _check(n, batch_size, chains, generator, distinct=True)
        self.n, self.batch_size, self.chains, self.generator = n, batch_size, chains, generator
        self.batches_per_epoch = n // batch_size
        self.epoch = 0
        self._perm: torch.Tensor | None = None
        self._pos = 0

    def draw(self) -> torch.Tensor:
        """The next batch of every chain: ``(chains, batch_size)``."""
        B = self.batch_size
        if self._perm is None or self._pos + B > self.n:
            u = torch.rand(self.chains, self.n, generator=self.generator, device=self.device)
            self._perm = u.argsort(-1)
            self._pos = 0
            self.epoch += 1
        out = self._perm[:, self._pos:self._pos + B]
        self._pos += B
        return out

    __call__ = draw


def make_sampler(scheme: str, n: int, batch_size: int, chains: int,
                 generator: torch.Generator | None) -> Callable[[], torch.Tensor]:
    """A callable ``draw()`` → ``(chains, batch_size)`` for ``scheme`` in :data:`SCHEMES`.

    Examples
    --------
    >>> draw = make_sampler("reshuffle", 10, 5, 2, torch.Generator().manual_seed(1))
    >>> draw().shape
    torch.Size([2, 5])
    """
    if scheme == "with_replacement":
        _check(n, batch_size, chains, generator, distinct=False)
        return lambda: with_replacement(n, batch_size, chains, generator)
    if scheme == "without_replacement":
        _check(n, batch_size, chains, generator, distinct=True)
        return lambda: without_replacement(n, batch_size, chains, generator)
    if scheme == "reshuffle":
        return Reshuffler(n, batch_size, chains, generator).draw
    raise ValueError(f"sampling scheme must be one of {SCHEMES}; got {scheme!r}")
