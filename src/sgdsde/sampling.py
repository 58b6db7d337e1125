"""Minibatch index schemes of notes §1.5 as objects, drawn for many chains at once.

A scheme object knows how to draw, its exact second moments and its exact law on small data:

==================================  ===========================================================
member                              meaning
==================================  ===========================================================
``draw()`` (or calling it)          a LongTensor ``(chains, B)`` of indices into ``{0, …, n−1}``
                                    on the device of the ``torch.Generator``; rows are chains
``cov_factor()``                    c with Cov[g_B] = c·Σ_emp/B (one batch)
``cross_factor(j, k=None)``         r_j with Cov[g_{B_k}, g_{B_{k+j}}] = r_j·Σ_emp/B (r_0 = c)
``autocorrelation(j, k=None)``      r_j / c, the correlation of the batch-mean noise at lag j
``batches()``                       every batch with its probability (exact law of one batch)
``batch_pairs(j, k=0)``             the joint law of the batches of steps k and k + j
==================================  ===========================================================

Σ_emp = (1/n) Σ_i (g_i − g_n)(g_i − g_n)ᵀ as in notes (7); the moments hold for any fixed
vectors g_i (any θ), because they are moments of the index law only.

Schemes (:data:`REGISTRY` maps the names to the classes):

* ``"with_replacement"`` (:class:`WithReplacement`): the B entries of a row are i.i.d. uniform on
  ``{0, …, n−1}``; c = 1, no correlation between steps.
* ``"without_replacement"`` (:class:`WithoutReplacement`): a row is a uniformly random set of B
  distinct indices (in random order), drawn afresh at every step; c = (n−B)/(n−1), no correlation
  between steps.
* ``"reshuffle"`` (:class:`Reshuffle`, alias :class:`Reshuffler`): epochs; each chain draws a fresh
  uniform permutation of ``{0, …, n−1}`` per epoch and cuts it into m = ⌊n/B⌋ consecutive batches.
  When n is not a multiple of B the last n mod B indices are dropped (``drop_last``), so every batch
  has exactly B distinct indices and a single batch is a uniform B-subset: c = (n−B)/(n−1). Two
  batches of one epoch are disjoint: for positions p ≠ q of a uniform permutation
  E[a_{π(p)} a_{π(q)}ᵀ] = −Σ_emp/(n−1) (the a_i = g_i − g_n sum to zero), hence
  Cov[g_{B_k}, g_{B_{k+j}}] = −Σ_emp/(n−1) = −(B/(n−1))·Σ_emp/B within an epoch and 0 across
  epochs. When B divides n this is −c·Σ_emp/(B·(m−1)): the m batch means of an epoch sum to m·g_n.

The module functions :func:`with_replacement`, :func:`without_replacement` and
:func:`make_sampler` draw the same streams as the objects (bit for bit, same generator calls).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import torch

from ._validate import as_generator, as_int, mark_in_range

__all__ = [
    "SamplingScheme",
    "WithReplacement",
    "WithoutReplacement",
    "Reshuffle",
    "Reshuffler",
    "REGISTRY",
    "SCHEMES",
    "get_scheme",
    "scheme_name",
    "cov_factor",
    "with_replacement",
    "without_replacement",
    "make_sampler",
]

_MAX_ENUM = 2_000_000  # largest support that batches()/batch_pairs() enumerate


def _check(n, batch_size, chains, generator, *, distinct: bool):
    n = as_int("n", n, min=1)
    batch_size = as_int("batch_size", batch_size, min=1)
    chains = as_int("chains", chains, min=1)
    if distinct and batch_size > n:
        raise ValueError(
            f"batch_size must be in [1, n] = [1, {n}] when sampling without replacement; "
            f"got {batch_size}"
        )
    generator = as_generator("generator", generator)
    dev = generator.device if generator is not None else torch.device("cpu")
    return n, batch_size, chains, generator, dev


# -- raw draws (validated by the callers) ------------------------------------------------------
def _draw_with(n, B, chains, generator, dev) -> torch.Tensor:
    return mark_in_range(torch.randint(n, (chains, B), generator=generator, device=dev), n)


def _draw_without(n, B, chains, generator, dev) -> torch.Tensor:
    if B * B <= n:
        # Floyd: for j = n−B, …, n−1 draw t uniform on {0, …, j}; keep t unless already taken, else j.
        out = torch.empty(chains, B, dtype=torch.long, device=dev)
        for i, j in enumerate(range(n - B, n)):
            t = torch.randint(j + 1, (chains,), generator=generator, device=dev)
            taken = (out[:, :i] == t.unsqueeze(-1)).any(-1)
            out[:, i] = torch.where(taken, torch.full_like(t, j), t)
        if B == 1:
            return mark_in_range(out, n)
        keys = torch.rand(chains, B, generator=generator, device=dev, dtype=torch.float64)
        return mark_in_range(out.gather(1, keys.argsort(-1)), n)  # Floyd's order is not uniform
    keys = torch.rand(chains, n, generator=generator, device=dev, dtype=torch.float64)
    return mark_in_range(keys.topk(B, dim=-1).indices, n)  # sorted by key: a uniform order


def with_replacement(
    n: int, batch_size: int, chains: int, generator: torch.Generator | None
) -> torch.Tensor:
    """Indices i.i.d. uniform on ``{0, …, n−1}``: ``(chains, batch_size)``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> idx = with_replacement(5, 3, 2, g)
    >>> idx.shape, idx.dtype, bool(((0 <= idx) & (idx < 5)).all())
    (torch.Size([2, 3]), torch.int64, True)
    """
    n, B, chains, generator, dev = _check(n, batch_size, chains, generator, distinct=False)
    return _draw_with(n, B, chains, generator, dev)


def without_replacement(
    n: int, batch_size: int, chains: int, generator: torch.Generator | None
) -> torch.Tensor:
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
    n, B, chains, generator, dev = _check(n, batch_size, chains, generator, distinct=True)
    return _draw_without(n, B, chains, generator, dev)


# -- scheme objects ----------------------------------------------------------------------------
class SamplingScheme:
    """Base class of the sampling schemes: a batch stream for ``chains`` chains and its exact law.

    Parameters
    ----------
    n : int ≥ 1, the number of samples
    batch_size : int ≥ 1 (≤ n for the schemes without replacement)
    chains : int ≥ 1, default 1
    generator : torch.Generator or None (global RNG); batches are drawn on its device

    Examples
    --------
    >>> s = get_scheme("without_replacement")(10, 4)
    >>> s.cov_factor(), s.cross_factor(1), s.draw().shape
    (0.6666666666666666, 0.0, torch.Size([1, 4]))
    """

    name: ClassVar[str]
    distinct: ClassVar[bool]

    def __init__(
        self, n: int, batch_size: int, chains: int = 1, generator: torch.Generator | None = None
    ):
        n, B, chains, generator, dev = _check(
            n, batch_size, chains, generator, distinct=self.distinct
        )
        self.n, self.batch_size, self.chains, self.generator, self.device = (
            n,
            B,
            chains,
            generator,
            dev,
        )

    def draw(self) -> torch.Tensor:
        """The next batch of every chain: LongTensor ``(chains, batch_size)``."""
        raise NotImplementedError

    def __call__(self) -> torch.Tensor:
        return self.draw()

    # -- exact moments ----------------------------------------------------------------------
    def cov_factor(self) -> float:
        """c such that Cov[g_B] = c·Σ_emp/B for one batch (Σ_emp normalised by 1/n)."""
        n, B = self.n, self.batch_size
        if not self.distinct:
            return 1.0
        return 0.0 if n == 1 else (n - B) / (n - 1)

    def cross_factor(self, j: int, k: int | None = None) -> float:
        """r_j with Cov[g_{B_k}, g_{B_{k+j}}] = r_j·Σ_emp/B (steps counted from 0; r_0 = c).

        ``k=None`` averages over the position of step k in its epoch (uniform), as for a chain
        observed at a random time; the i.i.d. schemes do not depend on k.
        """
        j = as_int("j", j, min=0)
        if k is not None:
            k = as_int("k", k, min=0)
        return self.cov_factor() if j == 0 else 0.0

    def autocorrelation(self, j: int, k: int | None = None) -> float:
        """Correlation of the batch-mean noise at lag j: r_j / c (1 at j = 0, 0 if c = 0 and j > 0).

        The same in every direction v: Corr[vᵀg_{B_k}, vᵀg_{B_{k+j}}] for any v with vᵀΣ_emp v > 0.
        """
        r = self.cross_factor(j, k)
        if j == 0:
            return 1.0
        c = self.cov_factor()
        return 0.0 if c == 0 else r / c

    # -- exact law on small n -----------------------------------------------------------------
    def batches(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every batch of one step with its probability: ``idx (K, B)`` long, ``prob (K,)`` float64.

        With replacement: the n^B ordered tuples; otherwise the C(n, B) sets (the batch mean does
        not depend on the order). Refused above 2·10⁶ batches.
        """
        n, B = self.n, self.batch_size
        if self.distinct:
            K = math.comb(n, B)
            it: Any = itertools.combinations(range(n), B)
        else:
            K = n**B
            it = itertools.product(range(n), repeat=B)
        if K > _MAX_ENUM:
            raise ValueError(
                f"{K} batches is too many to enumerate (limit {_MAX_ENUM}); use smaller n"
            )
        idx = torch.tensor(list(it), dtype=torch.long).reshape(K, B)
        return idx, torch.full((K,), 1.0 / K, dtype=torch.float64)

    def batch_pairs(self, j: int, k: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The joint law of the batches at steps k and k + j: ``(idx_k, idx_kj, prob)``.

        ``idx_k``, ``idx_kj`` are ``(K, B)``, ``prob`` is ``(K,)`` float64 (sums to 1).
        """
        j, k = as_int("j", j, min=0), as_int("k", k, min=0)
        idx, p = self.batches()
        if j == 0:
            return idx, idx, p
        return self._independent_pairs(idx, p)

    @staticmethod
    def _independent_pairs(idx, p):
        K = idx.shape[0]
        if K * K > _MAX_ENUM:
            raise ValueError(f"{K * K} batch pairs is too many to enumerate (limit {_MAX_ENUM})")
        a = idx.repeat_interleave(K, 0)
        b = idx.repeat(K, 1)
        return a, b, (p.unsqueeze(1) * p.unsqueeze(0)).reshape(-1)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n={self.n}, batch_size={self.batch_size}, chains={self.chains})"
        )


class WithReplacement(SamplingScheme):
    """Batches of B i.i.d. uniform indices, independent across steps: c = 1.

    Examples
    --------
    >>> s = WithReplacement(5, 3, chains=2, generator=torch.Generator().manual_seed(0))
    >>> torch.equal(s.draw(), with_replacement(5, 3, 2, torch.Generator().manual_seed(0)))
    True
    >>> s.cov_factor(), s.batches()[0].shape                     # 5³ ordered tuples
    (1.0, torch.Size([125, 3]))
    """

    name = "with_replacement"
    distinct = False

    def draw(self) -> torch.Tensor:
        return _draw_with(self.n, self.batch_size, self.chains, self.generator, self.device)


class WithoutReplacement(SamplingScheme):
    """A uniform B-subset afresh at every step, independent across steps: c = (n−B)/(n−1).

    Examples
    --------
    >>> s = WithoutReplacement(6, 2, chains=3, generator=torch.Generator().manual_seed(0))
    >>> torch.equal(s.draw(), without_replacement(6, 2, 3, torch.Generator().manual_seed(0)))
    True
    >>> s.cov_factor(), s.batches()[0].shape                     # C(6, 2) sets
    (0.8, torch.Size([15, 2]))
    """

    name = "without_replacement"
    distinct = True

    def draw(self) -> torch.Tensor:
        return _draw_without(self.n, self.batch_size, self.chains, self.generator, self.device)


class Reshuffle(SamplingScheme):
    """Random reshuffling: a fresh permutation per chain per epoch, cut into consecutive batches.

    Each epoch holds m = ⌊n/B⌋ batches; the last ``n mod B`` indices of a permutation are dropped.
    One batch is a uniform B-subset (c = (n−B)/(n−1)); two batches of one epoch are disjoint, with
    cross factor −B/(n−1), and batches of different epochs are independent.

    Attributes
    ----------
    epoch : int, the number of permutations drawn so far
    batches_per_epoch : int, m = ⌊n/B⌋

    Examples
    --------
    >>> r = Reshuffle(4, 2, chains=3, generator=torch.Generator().manual_seed(0))
    >>> ep = torch.cat([r.draw(), r.draw()], dim=1)        # one full epoch per chain
    >>> bool((ep.sort(-1).values == torch.arange(4)).all()), r.epoch
    (True, 1)
    >>> r.cross_factor(1, k=0), r.cross_factor(1, k=1)     # same epoch, then the next epoch
    (-0.6666666666666666, 0.0)
    """

    name = "reshuffle"
    distinct = True

    def __init__(
        self, n: int, batch_size: int, chains: int = 1, generator: torch.Generator | None = None
    ):
        super().__init__(n, batch_size, chains, generator)
        self.batches_per_epoch = self.n // self.batch_size
        self.epoch = 0
        self._perm: torch.Tensor | None = None
        self._pos = 0

    def draw(self) -> torch.Tensor:
        B = self.batch_size
        if self._perm is None or self._pos + B > self.n:
            u = torch.rand(self.chains, self.n, generator=self.generator, device=self.device)
            self._perm = u.argsort(-1)
            self._pos = 0
            self.epoch += 1
        out = self._perm[:, self._pos : self._pos + B]
        self._pos += B
        return mark_in_range(out, self.n)

    def _same_epoch(self, j: int, k: int) -> bool:
        return (k % self.batches_per_epoch) + j < self.batches_per_epoch

    def cross_factor(self, j: int, k: int | None = None) -> float:
        j = as_int("j", j, min=0)
        if j == 0:
            return self.cov_factor()
        m, within = self.batches_per_epoch, -self.batch_size / (self.n - 1) if self.n > 1 else 0.0
        if k is None:  # phase uniform on {0, …, m−1}: a fraction (m − j)/m of pairs share an epoch
            return within * max(m - j, 0) / m
        return within if self._same_epoch(j, as_int("k", k, min=0)) else 0.0

    def batch_pairs(self, j: int, k: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        j, k = as_int("j", j, min=0), as_int("k", k, min=0)
        if j == 0 or not self._same_epoch(j, k):
            return super().batch_pairs(j, k)
        # ordered pairs of disjoint B-subsets, uniformly (symmetry of a uniform permutation)
        n, B = self.n, self.batch_size
        K = math.comb(n, B) * math.comb(n - B, B)
        if K > _MAX_ENUM:
            raise ValueError(f"{K} batch pairs is too many to enumerate (limit {_MAX_ENUM})")
        a, b = [], []
        for s in itertools.combinations(range(n), B):
            rest = [i for i in range(n) if i not in s]
            for t in itertools.combinations(rest, B):
                a.append(s)
                b.append(t)
        ta = torch.tensor(a, dtype=torch.long).reshape(K, B)
        tb = torch.tensor(b, dtype=torch.long).reshape(K, B)
        return ta, tb, torch.full((K,), 1.0 / K, dtype=torch.float64)


#: Backwards-compatible name of :class:`Reshuffle`.
Reshuffler = Reshuffle

#: The schemes by name: the one place where a scheme's name is tied to its class.
REGISTRY: dict[str, type[SamplingScheme]] = {
    cls.name: cls for cls in (WithReplacement, WithoutReplacement, Reshuffle)
}

#: The scheme names accepted by :func:`make_sampler` (and ``sgd.run(sampling=...)``).
SCHEMES = tuple(REGISTRY)


def get_scheme(scheme: str | type[SamplingScheme]) -> type[SamplingScheme]:
    """The class of ``scheme`` (a name in :data:`SCHEMES` or a :class:`SamplingScheme` subclass).

    Examples
    --------
    >>> get_scheme("reshuffle") is Reshuffle
    True
    """
    if isinstance(scheme, type) and issubclass(scheme, SamplingScheme):
        return scheme
    if isinstance(scheme, str) and scheme in REGISTRY:
        return REGISTRY[scheme]
    raise ValueError(f"sampling must be one of {SCHEMES} or a SamplingScheme class; got {scheme!r}")


def scheme_name(scheme: str | type[SamplingScheme]) -> str:
    """The registered name of ``scheme`` (a name or a :class:`SamplingScheme` subclass): engines
    take either and normalise with this.

    Examples
    --------
    >>> scheme_name(Reshuffle), scheme_name("with_replacement")
    ('reshuffle', 'with_replacement')
    """
    return get_scheme(scheme).name


def cov_factor(scheme: str | type[SamplingScheme], n: int, batch_size: int) -> float:
    """The covariance factor c of ``scheme`` for n samples and batches of B (Cov[g_B] = c·Σ_emp/B).

    Examples
    --------
    >>> cov_factor("with_replacement", 10, 20), cov_factor("reshuffle", 10, 10)
    (1.0, 0.0)
    """
    return get_scheme(scheme)(n, batch_size).cov_factor()


def make_sampler(
    scheme: str | type[SamplingScheme],
    n: int,
    batch_size: int,
    chains: int,
    generator: torch.Generator | None,
) -> SamplingScheme:
    """The scheme object for ``scheme`` in :data:`SCHEMES`; calling it draws ``(chains, B)``.

    Examples
    --------
    >>> draw = make_sampler("reshuffle", 10, 5, 2, torch.Generator().manual_seed(1))
    >>> draw().shape
    torch.Size([2, 5])
    """
    return get_scheme(scheme)(n, batch_size, chains, generator)
