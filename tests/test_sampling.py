"""Tests of sgdsde.sampling: shapes, distinctness, epochs, uniformity within 5 SE, errors.

Statistical checks are seeded; each compares a frequency with its exact probability within 5 SE
(false-failure odds ≈ 5.7e-7 per entry under a normal approximation).
"""
import functools
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
    with pytest.raises(ValueError, match="sampling must be one of"):
        S.make_sampler("bootstrap", 5, 1, 1, gen())
    with pytest.raises(TypeError, match="generator"):
        S.with_replacement(5, 1, 1, 42)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        S.with_replacement(5, 2.0, 1, gen())
    assert S.with_replacement(5, 6, 1, gen()).shape == (1, 6)  # B > n is fine with replacement


# -- scheme objects: exact moments against exact enumeration and Monte Carlo -------------------
SMALL = [(n, B) for n in range(1, 7) for B in range(1, n + 1)]


def _vectors(n, d=3, seed=0):
    """Arbitrary per-sample 'gradients' g_i (n, d) and their Σ_emp (1/n normalisation)."""
    g = torch.randn(n, d, generator=gen(seed), dtype=torch.float64)
    a = g - g.mean(0)
    return g, a.T @ a / n


def _batch_means(g, idx):
    return g[idx].mean(-2)  # (K, d)


def _exact_cross(g, ia, ib, p):
    """Exact Cov[mean g[ia], mean g[ib]] under the joint law p of the batch pairs."""
    ma, mb = _batch_means(g, ia), _batch_means(g, ib)
    ea, eb = (p[:, None] * ma).sum(0), (p[:, None] * mb).sum(0)
    return ((ma - ea) * p[:, None]).T @ (mb - eb)


def _close(A, Bm, scale):
    eps = torch.finfo(torch.float64).eps
    assert float((A - Bm).abs().max()) <= 1e3 * eps * max(scale, 1.0)


@pytest.mark.parametrize("name", S.SCHEMES)
@pytest.mark.parametrize("n,B", SMALL)
def test_cov_factor_exact_by_enumeration(name, n, B):
    s = S.REGISTRY[name](n, B)
    g, Sig = _vectors(n, seed=n * 10 + B)
    idx, p = s.batches()
    assert math.isclose(float(p.sum()), 1.0, rel_tol=1e-12)
    m = _batch_means(g, idx)
    mean = (p[:, None] * m).sum(0)
    _close(mean, g.mean(0), float(g.abs().max()))  # unbiased: E[g_B] = g_n
    cov = _exact_cross(g, idx, idx, p)
    _close(cov, s.cov_factor() * Sig / B, float(Sig.abs().max()))
    assert s.cov_factor() == S.cov_factor(name, n, B)


def test_without_replacement_enumeration_matches_ordered_tuples():
    """batches() lists sets; the sampler's law is on ordered tuples: same batch-mean law."""
    n, B = 5, 3
    g, _ = _vectors(n)
    idx, p = S.WithoutReplacement(n, B).batches()
    tuples = torch.tensor(list(itertools.permutations(range(n), B)))
    m1 = sorted(_batch_means(g, idx)[:, 0].tolist())
    m2 = sorted(set(round(v, 12) for v in _batch_means(g, tuples)[:, 0].tolist()))
    assert [round(v, 12) for v in m1] == m2 and len(tuples) == math.factorial(B) * len(idx)


@functools.lru_cache
def _perms(n):
    return torch.tensor(list(itertools.permutations(range(n))))


def _reshuffle_pairs_by_permutations(n, B, j, k):
    """Joint law of the batches at steps k, k+j of reshuffling, from all n! permutations per epoch."""
    m = n // B
    ek, pk = divmod(k, m)
    ej, pj = divmod(k + j, m)
    perms = _perms(n)
    if ek == ej:
        a, b = perms[:, pk * B:(pk + 1) * B], perms[:, pj * B:(pj + 1) * B]
        return a, b, torch.full((len(perms),), 1.0 / len(perms), dtype=torch.float64)
    P = len(perms)  # independent epochs: every pair of permutations
    a = perms[:, pk * B:(pk + 1) * B].repeat_interleave(P, 0)
    b = perms[:, pj * B:(pj + 1) * B].repeat(P, 1)
    return a, b, torch.full((P * P,), 1.0 / (P * P), dtype=torch.float64)


@pytest.mark.parametrize("n,B", [(n, B) for n, B in SMALL if n <= 5] + [(6, 1), (6, 2), (6, 3), (6, 4)])
def test_reshuffle_cross_factor_exact_by_permutations(n, B):
    s = S.Reshuffle(n, B)
    g, Sig = _vectors(n, seed=100 + n * 10 + B)
    m = n // B
    for k in range(min(m, 3)):
        for j in range(0, m - k + 1):  # every lag within the epoch, then the first step of the next
            if n == 6 and k + j == m and k > 0:  # across epochs n!² pairs: one case at n = 6
                continue
            a, b, p = _reshuffle_pairs_by_permutations(n, B, j, k)
            want = s.cross_factor(j, k) * Sig / B
            _close(_exact_cross(g, a, b, p), want, float(Sig.abs().max()))
            ia, ib, q = s.batch_pairs(j, k)  # the object's own enumeration agrees
            _close(_exact_cross(g, ia, ib, q), want, float(Sig.abs().max()))


@pytest.mark.parametrize("n,B", [(4, 2), (6, 2), (6, 3), (5, 2)])
def test_reshuffle_cross_factor_formula(n, B):
    s = S.Reshuffle(n, B)
    m = n // B
    c = (n - B) / (n - 1)
    assert s.cross_factor(1, 0) == -B / (n - 1)
    if n % B == 0 and m > 1:  # notes-style form: −c/(m − 1) (the m batch means sum to m·g_n)
        assert math.isclose(s.cross_factor(1, 0), -c / (m - 1), rel_tol=1e-12)
        assert math.isclose(s.autocorrelation(1, 0), -1 / (m - 1), rel_tol=1e-12)
    assert s.cross_factor(m, 0) == 0.0  # the next epoch is independent
    # averaged over the phase: a fraction (m − j)/m of lag-j pairs share an epoch
    for j in range(1, m + 1):
        avg = sum(s.cross_factor(j, k) for k in range(m)) / m
        assert math.isclose(s.cross_factor(j), avg, rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize("name", ["with_replacement", "without_replacement"])
@pytest.mark.parametrize("n,B", [(4, 2), (6, 3), (3, 3)])
def test_iid_schemes_uncorrelated_by_enumeration(name, n, B):
    s = S.REGISTRY[name](n, B)
    g, Sig = _vectors(n, seed=7)
    a, b, p = s.batch_pairs(2, 1)
    _close(_exact_cross(g, a, b, p), torch.zeros_like(Sig), float(Sig.abs().max()))
    assert s.cross_factor(2, 1) == 0.0 and s.autocorrelation(2) == 0.0 and s.autocorrelation(0) == 1.0


@pytest.mark.parametrize("name,n,B", [("with_replacement", 6, 2), ("without_replacement", 6, 2),
                                      ("reshuffle", 6, 2), ("reshuffle", 7, 3)])
def test_factors_by_monte_carlo(name, n, B):
    """Lag-0 and lag-1 covariances of vᵀg_B along a chain of batches, within 5 SE.

    Each of the N chains gives one (x_0, x_1) pair; false-failure odds ≈ 5.7e-7 per check.
    """
    N = 200_000
    g, Sig = _vectors(n, d=1, seed=3)
    s = S.make_sampler(name, n, B, N, gen(11))
    x0 = g[s()].mean(-2)[:, 0]
    x1 = g[s()].mean(-2)[:, 0]
    gn = float(g.mean())
    v0, v01 = (x0 - gn) ** 2, (x0 - gn) * (x1 - gn)
    want0, want1 = s.cov_factor() * float(Sig) / B, s.cross_factor(1, 0) * float(Sig) / B
    assert_within_se(v0.mean(), want0, float(v0.std()) / math.sqrt(N), what=f"{name} variance")
    assert_within_se(v01.mean(), want1, float(v01.std()) / math.sqrt(N), what=f"{name} lag-1 cov")


def test_objects_draw_the_same_streams_as_before():
    """Bit-identical to the module functions and to the pre-object Reshuffler."""
    for n, B in ((10, 3), (100, 5), (4, 4)):
        a = S.WithReplacement(n, B, 4, gen(5))
        b = S.WithoutReplacement(n, B, 4, gen(5))
        ga, gb = gen(5), gen(5)
        for _ in range(3):
            assert torch.equal(a.draw(), S.with_replacement(n, B, 4, ga))
            assert torch.equal(b.draw(), S.without_replacement(n, B, 4, gb))
        r, gr, pos, perm = S.Reshuffle(n, B, 4, gen(6)), gen(6), n, None
        for _ in range(7):  # the original Reshuffler's loop, inline
            if perm is None or pos + B > n:
                perm, pos = torch.rand(4, n, generator=gr).argsort(-1), 0
            assert torch.equal(r(), perm[:, pos:pos + B])
            pos += B


def test_registry_and_numpy_ints():
    import numpy as np

    assert set(S.REGISTRY) == set(S.SCHEMES) == {"with_replacement", "without_replacement", "reshuffle"}
    assert S.get_scheme("reshuffle") is S.Reshuffler
    s = S.make_sampler("without_replacement", np.int64(8), np.int32(3), np.int64(2), gen())
    assert s.n == 8 and type(s.n) is int and s().shape == (2, 3)
    with pytest.raises(ValueError, match="sampling must be one of"):
        S.get_scheme("bootstrap")
    with pytest.raises(ValueError, match="j must be >= 0"):
        S.Reshuffle(4, 2).cross_factor(-1)
    with pytest.raises(ValueError, match="too many"):
        S.WithReplacement(50, 8).batches()


def test_engines_take_a_scheme_class_or_its_name_alike():
    """sgd.run, noise.* and sde.sgd_sde normalise a scheme class to its registered name."""
    import torch

    from sgdsde import noise, sde, sgd
    from sgdsde import sampling as S
    from sgdsde.problems import LinearRegression, gaussian_regression

    p = LinearRegression(*gaussian_regression(20, 2, seed=0))
    for sch in (S.WithReplacement, S.WithoutReplacement, S.Reshuffle):
        assert S.scheme_name(sch) == sch.name
        kw = dict(chains=3, seed=2)
        assert torch.equal(sgd.run(p, None, 0.1, 4, 6, sampling=sch, **kw).theta,
                           sgd.run(p, None, 0.1, 4, 6, sampling=sch.name, **kw).theta)
        assert torch.equal(sde.sgd_sde(p, None, 0.1, 4, 6, sampling=sch, **kw).x,
                           sde.sgd_sde(p, None, 0.1, 4, 6, sampling=sch.name, **kw).x)
        assert torch.equal(noise.minibatch_covariance(p, p.theta0, 4, sampling=sch),
                           noise.minibatch_covariance(p, p.theta0, 4, sampling=sch.name))
    with pytest.raises(ValueError, match="sampling must be one of"):
        sgd.run(p, None, 0.1, 4, 6, sampling="bogus")
