"""Tests for sgdsde.levy: Chambers–Mallows–Stuck sampling and tail-index estimators.

Statistical checks are seeded and must hold for any seed. Tolerances are 5 standard errors of the
estimator (two-sided normal false-failure odds ``false_failure_prob(5)`` = 5.7e-7 per check, m
checks in one test at most m times that) unless stated; KS tests use p > 1e-6 (odds 1e-6 each).
"""
import math

import numpy as np
import pytest
import torch
from scipy import stats

from sgdsde.levy import check_alpha, symmetric_stable, tail_index_hill, tail_index_mohammadi
from sgdsde.stats import assert_within_se


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def reference(alpha, scale=1.0):
    """scipy's law with characteristic function exp(-|scale u|^alpha) (fast closed forms at 1, 2)."""
    if alpha == 2.0:
        return stats.norm(scale=math.sqrt(2.0) * scale)
    if alpha == 1.0:
        return stats.cauchy(scale=scale)
    return stats.levy_stable(alpha, 0.0, scale=scale)  # default S1 parametrisation


@pytest.mark.parametrize("alpha", [0.7, 1.0, 1.5, 1.9, 2.0])
def test_ks_against_scipy(alpha):
    # false-failure odds: P(p-value ≤ 1e-6) = 1e-6 under the null
    x = symmetric_stable(alpha, (2000,), generator=gen(1)).numpy()
    assert stats.kstest(x, reference(alpha).cdf).pvalue > 1e-6


def test_ks_has_power():
    # the same test rejects a 25 % scale error, so passing above is informative: √N·D ≈ 3.1 here,
    # p ≈ 1e-8 on average, so p ≥ 1e-3 (a false failure) needs a ~3-SE fluctuation of D downwards
    x = symmetric_stable(1.0, (2000,), generator=gen(1)).numpy()
    assert stats.kstest(1.25 * x, reference(1.0).cdf).pvalue < 1e-3


@pytest.mark.parametrize("alpha", [0.8, 1.3, 1.8])
def test_cdf_on_quantile_grid_within_5se(alpha):
    # a finer test than KS: the empirical CDF at 9 points vs scipy's CDF, binomial SE;
    # false-failure odds false_failure_prob(5, 9) ≈ 5.2e-6
    N = 200_000
    x = symmetric_stable(alpha, (N,), scale=0.7, generator=gen(2))
    ref = reference(alpha, scale=0.7)
    q = np.array([-8.0, -3.0, -1.5, -0.6, 0.0, 0.4, 1.0, 2.5, 6.0]) * 0.7
    F = ref.cdf(q)
    emp = np.array([(x <= v).double().mean().item() for v in q])
    se = np.sqrt(F * (1 - F) / N)
    assert np.all(np.abs(emp - F) <= 5 * se + 1e-12), (emp, F, se)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.5, 2.0])
def test_characteristic_function(alpha):
    N = 200_000
    scale = 1.3
    x = symmetric_stable(alpha, (N,), scale=scale, generator=gen(3))
    # 6 checks at 5 SE: false-failure odds false_failure_prob(5, 6) ≈ 3.4e-6
    for u in (0.2, 0.7, 1.5):
        c = torch.cos(u * x)
        est, se = float(c.mean()), float(c.std()) / math.sqrt(N)
        target = math.exp(-abs(scale * u) ** alpha)
        assert abs(est - target) <= 5 * se, (alpha, u, est, target, se)
        # symmetric: the imaginary part E sin(uX) is 0
        s = torch.sin(u * x)
        assert abs(float(s.mean())) <= 5 * float(s.std()) / math.sqrt(N)


def test_alpha2_is_normal_variance_2_and_alpha1_is_cauchy():
    N = 200_000                       # 2 checks at 5 SE: odds false_failure_prob(5, 2) ≈ 1.1e-6
    x = symmetric_stable(2.0, (N,), generator=gen(4))
    v, se = float(x.var()), float(x.var()) * math.sqrt(2 / (N - 1))
    assert abs(v - 2.0) <= 5 * se
    c = symmetric_stable(1.0, (N,), generator=gen(5))
    p = float((c.abs() <= 1).double().mean())   # P(|Cauchy| <= 1) = 1/2
    assert abs(p - 0.5) <= 5 * math.sqrt(0.25 / N)


def test_generator_dtype_device_out():
    a = symmetric_stable(1.5, (5, 4), generator=gen(7))
    b = symmetric_stable(1.5, (5, 4), generator=gen(7))
    assert torch.equal(a, b) and a.dtype == torch.float64 and a.device.type == "cpu"
    f = symmetric_stable(1.2, 1000, generator=gen(7), dtype=torch.float32)
    assert f.dtype == torch.float32 and f.shape == (1000,) and bool(torch.isfinite(f).all())
    out = torch.empty(3, 2, dtype=torch.float32)
    r = symmetric_stable(0.9, (3, 2), generator=gen(1), out=out)
    assert r.data_ptr() == out.data_ptr()
    assert symmetric_stable(1.5, (0,)).shape == (0,)


def test_small_alpha_float32_stays_finite_or_inf_never_nan():
    x = symmetric_stable(0.3, (100_000,), generator=gen(8), dtype=torch.float32)
    assert not bool(torch.isnan(x).any())


@pytest.mark.parametrize("bad", [0.0, -1.0, 2.5, float("nan"), float("inf")])
def test_bad_alpha_raises(bad):
    with pytest.raises(ValueError, match="alpha must be in"):
        symmetric_stable(bad, (3,))
    with pytest.raises(ValueError, match="alpha must be in"):
        check_alpha(bad)


def test_bad_types_raise():
    with pytest.raises(TypeError):
        symmetric_stable("1.5", (3,))
    with pytest.raises(ValueError, match="scale"):
        symmetric_stable(1.5, (3,), scale=-1.0)
    with pytest.raises(ValueError, match="size"):
        symmetric_stable(1.5, (-3,))
    with pytest.raises(TypeError, match="dtype"):
        symmetric_stable(1.5, (3,), dtype=torch.int64)


# -- tail indices ------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.8])
def test_mohammadi_recovers_alpha(alpha):
    # strictly stable data: E log|Y| − E log|X| = (log k1)/α exactly, so 5 SE of the block
    # estimator (return_se); 2 checks, false-failure odds false_failure_prob(5, 2) ≈ 1.1e-6
    x = symmetric_stable(alpha, (1_000_000,), generator=gen(11))
    for k1 in (None, 100):                                                 # None: k1 = sqrt(K)
        a, se = tail_index_mohammadi(x, k1, return_se=True)
        assert float(se) < 0.05
        assert_within_se(a, alpha, se, what=f"Mohammadi alpha-hat, k1={k1}")


def test_mohammadi_vector_samples_use_norms():
    # rows with i.i.d. S_alpha coordinates: block sums scale as k1^(1/alpha) exactly
    x = symmetric_stable(1.5, (200_000, 5), generator=gen(12))
    a, se = tail_index_mohammadi(x, k1=100, return_se=True)     # 5 SE: odds 5.7e-7
    assert_within_se(a, 1.5, se, what="Mohammadi alpha-hat on vectors")
    # and numpy input works
    assert float(tail_index_mohammadi(x.numpy(), k1=100)) == float(a)


def test_mohammadi_formula_on_a_tiny_example():
    # K = 4, k1 = 2: Y = (x1 + x2, x3 + x4); 1/alpha = (mean log|Y| - mean log|X|)/log 2
    x = torch.tensor([1.0, 3.0, -2.0, -6.0], dtype=torch.float64)
    inv = (math.log(4) + math.log(8)) / 2 - (math.log(1) + math.log(3) + math.log(2) + math.log(6)) / 4
    assert math.isclose(float(tail_index_mohammadi(x, k1=2)), math.log(2) / inv, rel_tol=1e-12)


@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.8])
def test_hill_recovers_alpha_on_power_law_tails(alpha):
    # symmetric Pareto: P(|X| > x) = x^-alpha for x >= 1, Hill's model, where 1/alpha-hat is the
    # mean of k i.i.d. Exp(mean 1/alpha): SE(alpha-hat) = alpha/sqrt(k); 5 SE, odds 5.7e-7
    g = gen(13)
    u = torch.rand(100_000, generator=g, dtype=torch.float64)
    sign = torch.randint(0, 2, (100_000,), generator=g) * 2 - 1
    x = sign * (1 - u) ** (-1 / alpha)
    assert_within_se(tail_index_hill(x, k=10_000), alpha, alpha / math.sqrt(10_000), what="Hill")


@pytest.mark.parametrize("alpha", [1.2, 1.5])
def test_hill_recovers_alpha_on_stable_samples(alpha):
    # for stable laws the power tail starts far out: k/K = 0.002 keeps the bias small (the next
    # term of the stable tail is O(x^-2α), relative O(k/K) at the threshold); SE = alpha/sqrt(k),
    # 5 SE (0.13 at alpha = 1.2, 0.17 at 1.5): odds false_failure_prob(5) ≈ 5.7e-7
    x = symmetric_stable(alpha, (1_000_000,), generator=gen(14))
    assert_within_se(tail_index_hill(x, k=2000), alpha, alpha / math.sqrt(2000), what="Hill, stable")


def test_hill_exact_on_a_tiny_example():
    x = torch.tensor([8.0, 4.0, 2.0, 1.0], dtype=torch.float64)
    # k = 2: mean(log(8/2), log(4/2)) = 1.5 log 2
    assert math.isclose(float(tail_index_hill(x, k=2)), 1 / (1.5 * math.log(2)), rel_tol=1e-12)


def test_estimator_bad_input():
    x = torch.randn(100, dtype=torch.float64)
    with pytest.raises(ValueError, match="k1"):
        tail_index_mohammadi(x, k1=1)
    with pytest.raises(ValueError, match="blocks"):
        tail_index_mohammadi(x, k1=60)
    with pytest.raises(ValueError, match="k must"):
        tail_index_hill(x, k=100)
    with pytest.raises(ValueError, match="shape"):
        tail_index_hill(torch.zeros(2, 2, 2))
    with pytest.raises(ValueError, match="non-finite"):
        tail_index_hill(torch.tensor([1.0, float("nan"), 2.0]))
    with pytest.raises(TypeError):
        tail_index_hill([1.0, 2.0])


# -- degenerate input and exact zeros -------------------------------------------------------------
@pytest.mark.parametrize("estimator", [tail_index_mohammadi, tail_index_hill])
def test_estimators_reject_degenerate_input(estimator):
    # each used to return a number (1.0 for constant data, about -2e13 or inf for zeros)
    cases = [
        (torch.ones(100, dtype=torch.float64), "x is constant"),
        (torch.full((100, 3), -2.5, dtype=torch.float64), "x is constant"),
        (torch.zeros(100, dtype=torch.float64), "x is all zeros"),
        (torch.zeros(50, 4), "x is all zeros"),
        (torch.tensor([1.0]), "x needs at least"),
        (torch.tensor([1.0, float("inf"), 2.0, 3.0]), "x contains non-finite"),
        (torch.tensor([1.0, float("nan"), 2.0, 3.0]), "x contains non-finite"),
    ]
    for x, msg in cases:
        with pytest.raises(ValueError, match=msg):
            estimator(x)
    with pytest.raises(ValueError, match="x needs at least 4"):
        tail_index_mohammadi(torch.tensor([1.0, -2.0, 3.0]))


def test_hill_rejects_a_flat_top():
    x = torch.cat([torch.full((20,), 5.0), torch.linspace(0.1, 1, 80)]).double()
    with pytest.raises(ValueError, match="largest magnitudes of x are all equal"):
        tail_index_hill(x, k=10)
    with pytest.raises(ValueError, match=r"\(k\+1\)-th largest magnitude of x is 0"):
        tail_index_hill(torch.cat([torch.ones(5), torch.zeros(95)]).double(), k=10)


def test_mohammadi_exact_zeros_are_rejected_or_dropped():
    # Gaussian data (α = 2) with 1 % exact zeros: each zero enters as log(tiny) ≈ -708 and dragged
    # α̂ from 2 to about 0.6; now the default raises, and drop_zeros=True estimates the non-zero part.
    K = 65536
    g = gen(21)
    x = torch.randn(K, generator=g, dtype=torch.float64)
    zeros = torch.randperm(K, generator=g)[: K // 100]
    xz = x.clone()
    xz[zeros] = 0.0
    with pytest.raises(ValueError, match=r"x has 655 exact zero entries of 65536 \(1.00%\).*drop_zeros=True"):
        tail_index_mohammadi(xz)
    a, se = tail_index_mohammadi(xz, drop_zeros=True, return_se=True)
    # 5 SE: false-failure odds false_failure_prob(5) ≈ 5.7e-7; SE ≈ 0.05 here, so 2 ± 0.25
    assert 0.03 < float(se) < 0.08
    assert_within_se(a, 2.0, se, k=5.0, what="α̂ of Gaussian data after dropping exact zeros")
    keep = torch.ones(K, dtype=torch.bool)
    keep[zeros] = False
    assert float(a) == float(tail_index_mohammadi(x[keep]))       # = removing them by hand
    # the same for vector samples: rows of norm 0 are dropped, other rows kept whole
    v = torch.randn(4096, 3, generator=g, dtype=torch.float64)
    v[::50] = 0.0
    v[1::50, 0] = 0.0                                               # a zero entry, not a zero row
    with pytest.raises(ValueError, match="exact zero rows"):
        tail_index_mohammadi(v)
    nz = v.norm(dim=1) > 0
    assert float(tail_index_mohammadi(v, drop_zeros=True)) == float(tail_index_mohammadi(v[nz]))
    # Hill's estimator uses only the top k + 1 magnitudes: an atom at 0 does not enter it
    assert float(tail_index_hill(xz, k=100)) == float(tail_index_hill(x[keep], k=100))


def test_mohammadi_standard_error_matches_replicate_spread():
    # the returned SE against the sd of α̂ over R = 200 independent replicates (Gaussian, α = 2,
    # K = 4096). The sample sd of R normal values has relative SE 1/√(2(R−1)) = 5 %: 5 SE is 25 %,
    # false-failure odds false_failure_prob(5) ≈ 5.7e-7 (normal approximation).
    R, K = 200, 4096
    x = torch.randn(R, K, generator=gen(22), dtype=torch.float64)
    est = torch.stack([torch.stack(tail_index_mohammadi(r, return_se=True)) for r in x])
    sd, mean_se = float(est[:, 0].std()), float(est[:, 1].mean())
    assert_within_se(sd / mean_se, 1.0, 1.0 / math.sqrt(2 * (R - 1)), k=5.0, what="sd(α̂)/SE")
    # and the estimator is unbiased at α = 2 within the SE of the replicate mean
    assert_within_se(est[:, 0].mean(), 2.0, sd / math.sqrt(R), k=5.0, what="mean α̂ at α = 2")
