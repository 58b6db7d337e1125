"""Tests of sgdsde.sampling: shapes, distinctness, epochs, uniformity within 5 SE, errors.

Statistical checks are seeded; each compares a frequency with its exact probability within 5 SE
(false-failure odds ≈ 5.7e-7 per entry under a normal approximation).
"""
import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sgdsde import sampling as S
from sgdsde.stats import assert_within_se


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), data=st.data(), chains=st.integers(1, 5), seed=st.integers(0, 999))
def test_without_replacement_rows_are_distinct(n, data, chains, seed):
    B = data.draw(st.integers(1, n))
    idx = S.without_replacement(n, B, chains, gen(seed))
    assert idx.shape == (chains, B) and idx.dtype == torch.long
    assert bool(((idx >= 0) & (idx < n)).all())
    s = idx.sort(-1).values
    assert not bool((s[:, 1:] == s[:, :-1]).any())


def test_with_replacement_shape_and_range():
    idx = S.with_replacement(7, 20, 3, gen())
    assert idx.shape == (3, 20) and bool(((idx >= 0) & (idx < 7)).all())
    assert len(idx.unique()) == 7  # 60 draws from 7: every index appears (seeded)


@pytest.mark.parametrize("scheme,n,B", [("with_replacement", 5, 2), ("without_replacement", 5, 2),
                                        ("without_replacement", 5, 3), ("without_replacement", 9, 3),
                                        ("without_replacement", 4, 1), ("reshuffle", 5, 2),
                                        ("reshuffle", 5, 3)])
def test_batches_are_uniform(scheme, n, B):
    """Frequencies of each batch (as an ordered tuple) match the exact law within 5 SE."""
    N = 40_000
    idx = S.make_sampler(scheme, n, B, N, gen(1))()
    if scheme == "with_replacement":
        support = list(itertools.product(range(n), repeat=B))
    else:
        support = list(itertools.permutations(range(n), B))
    p = 1.0 / len(support)
    code = (idx * torch.tensor([n ** j for j in range(B)])).sum(-1)
    counts = torch.bincount(code, minlength=n ** B).double()
    keys = torch.tensor([sum(t[j] * n ** j for j in range(B)) for t in support])
    freq = counts[keys] / N
    assert int(counts.sum()) == N and math.isclose(float(freq.sum()), 1.0)  # nothing outside the support
    assert_within_se(freq, p, math.sqrt(p * (1 - p) / N), what=f"{scheme} batch frequencies")


def test_reshuffle_epochs_are_permutations():
    r = S.Reshuffler(7, 3, chains=4, generator=gen(2))  # 2 batches per epoch, 1 index dropped
    assert r.batches_per_epoch == 2
    seen = []
    for e in range(3):
        ep = torch.cat([r.draw(), r.draw()], 1)  # (4, 6): distinct within the epoch
        s = ep.sort(-1).values
        assert not bool((s[:, 1:] == s[:, :-1]).any())
        seen.append(ep)
        assert r.epoch == e + 1
    assert not torch.equal(seen[0], seen[1])  # a fresh permutation each epoch
    assert not torch.equal(seen[0][0], seen[0][1])  # chains differ


def test_same_seed_same_draws_and_chains_differ():
    a = S.with_replacement(100, 10, 4, gen(3))
    b = S.with_replacement(100, 10, 4, gen(3))
    assert torch.equal(a, b)
    assert len({tuple(r.tolist()) for r in a}) == 4
    d1 = S.make_sampler("without_replacement", 100, 10, 4, gen(3))
    d2 = S.make_sampler("without_replacement", 100, 10, 4, gen(3))
    assert torch.equal(d1(), d2()) and torch.equal(d1(), d2())


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, n\] = \[1, 5\]"):
        S.without_replacement(5, 6, 1, gen())
    with pytest.raises(ValueError, match="batch_size must be in"):
        S.Reshuffler(5, 6, 1, gen())
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        S.with_replacement(5, 0, 1, gen())
    with pytest.raises(ValueError, match="chains must be >= 1"):
        S.with_replacement(5, 1, 0, gen())
    with pytest.raises(ValueError, match="sampling scheme must be one of"):
        S.make_sampler("bootstrap", 5, 1, 1, gen())
    with pytest.raises(TypeError, match="generator"):
        S.with_replacement(5, 1, 1, 42)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        S.with_replacement(5, 2.0, 1, gen())
    assert S.with_replacement(5, 6, 1, gen()).shape == (1, 6)  # B > n is fine with replacement
