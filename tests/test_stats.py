"""Tests of sgdsde.stats: standard errors are right (checked against theory and by calibration)."""
import math

import pytest
import torch

from sgdsde import stats

f64 = torch.float64


def test_mean_se_exact():
    x = torch.tensor([1.0, 2.0, 4.0, 7.0], dtype=f64)
    m, se = stats.mean_se(x)
    assert float(m) == 3.5
    assert math.isclose(float(se), math.sqrt(((2.5**2 + 1.5**2 + 0.5**2 + 3.5**2) / 3) / 4), rel_tol=1e-14)
    m, se = stats.mean_se(torch.ones(3, 5, dtype=f64), dim=1)
    assert m.shape == (3,) and float(se.abs().max()) == 0.0
    with pytest.raises(ValueError, match="at least 2 samples"):
        stats.mean_se(torch.ones(1))


def test_cov_se_matches_gaussian_theory():
    """For Gaussian data Var(S_jk) ≈ (σ_jj σ_kk + σ_jk²)/N; the delta-method SE reproduces it."""
    Sig = torch.tensor([[2.0, 0.6], [0.6, 1.0]], dtype=f64)
    L = torch.linalg.cholesky(Sig)
    N = 50_000
    x = torch.randn(N, 2, generator=torch.Generator().manual_seed(0), dtype=f64) @ L.T
    S, se = stats.cov_se(x)
    theory = ((torch.outer(Sig.diag(), Sig.diag()) + Sig**2) / N).sqrt()
    torch.testing.assert_close(se, theory, rtol=0.05, atol=0)
    torch.testing.assert_close(S, torch.cov(x.T), rtol=1e-12, atol=1e-14)
    stats.assert_within_se(S, Sig, se, what="sample covariance")


def test_assert_within_se_calibration():
    """Over many seeded checks, the fraction of |mean/SE| > 2 matches its exact law within 5 SE."""
    M, n = 4000, 50
    x = torch.randn(M, n, generator=torch.Generator().manual_seed(1), dtype=f64)
    m, se = stats.mean_se(x, dim=1)
    frac = float(((m.abs() / se) > 2).double().mean())
    # z = mean/SE is t-distributed with 49 dof: P(|t_49| > 2) = 0.0510591 (scipy.stats.t.sf)
    p = 0.05105914825741809
    stats.assert_within_se(frac, p, math.sqrt(p * (1 - p) / M), what="calibration")
    assert math.isclose(stats.false_failure_prob(2.0), 0.04550026389635839, rel_tol=1e-12)


def test_assert_within_se_messages():
    assert stats.assert_within_se(torch.zeros(3), torch.zeros(3), torch.zeros(3)) == 0.0
    with pytest.raises(AssertionError, match=r"Cov: 1 of 4 entries outside 5 SE; worst at index \(1, 0\)"):
        stats.assert_within_se(torch.tensor([[0.0, 0.0], [1.0, 0.0]]), 0.0, 0.1, what="Cov")
    with pytest.raises(AssertionError, match="z = inf"):
        stats.assert_within_se(1.0, 0.0, 0.0)
    with pytest.raises(AssertionError, match="non-finite"):
        stats.assert_within_se(float("nan"), 0.0, 1.0)
    with pytest.raises(ValueError, match="se must be"):
        stats.assert_within_se(0.0, 0.0, -1.0)
    assert stats.assert_within_se(1.0 + 1e-16, 1.0, 0.0) == 0.0  # rounding slack when se = 0


def test_false_failure_prob():
    assert math.isclose(stats.false_failure_prob(5.0), 5.733031437583866e-07, rel_tol=1e-12)
    assert math.isclose(stats.false_failure_prob(5.0, checks=10), 5.733031437583866e-06, rel_tol=1e-12)
    with pytest.raises(ValueError, match="k must be"):
        stats.false_failure_prob(0)


# --- gaussian_kl ----------------------------------------------------------------------------------


def test_gaussian_kl_closed_form_and_errors():
    import pytest
    import torch

    from sgdsde.stats import gaussian_kl

    S = torch.tensor([[2.0, 0.3], [0.3, 1.0]], dtype=torch.float64)
    P = torch.tensor([[1.0, -0.2], [-0.2, 0.5]], dtype=torch.float64)
    R = torch.linalg.solve(P, S)
    want = 0.5 * (float(torch.trace(R)) - 2 - float(torch.logdet(R)))
    assert abs(gaussian_kl(S, P) - want) < 1e-13 * max(1.0, want)
    assert gaussian_kl(S, S) < 1e-14 and gaussian_kl(S, P) > 0
    with pytest.raises(ValueError, match="positive definite"):
        gaussian_kl(-S, P)
    with pytest.raises(ValueError, match="one shape"):
        gaussian_kl(S, torch.eye(3, dtype=torch.float64))


def test_ar1_filter_matches_the_recursion_and_rejects_bad_input():
    ar1_filter = stats.ar1_filter
    x = torch.randn(3, 4, 300, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z, ref = torch.zeros(3, 4, dtype=torch.float64), []
    for k in range(x.shape[-1]):
        z = 0.9 * z + x[..., k]
        ref.append(z)
    ref = torch.stack(ref, -1)
    y = ar1_filter(x, 0.9)
    assert torch.allclose(y, ref, rtol=0, atol=1e3 * torch.finfo(x.dtype).eps * float(ref.abs().max()))
    y0 = ar1_filter(x.movedim(-1, 0), 0.9, dim=0).movedim(0, -1)
    assert torch.allclose(y0, y, rtol=0, atol=1e3 * torch.finfo(x.dtype).eps * float(ref.abs().max()))
    assert torch.equal(ar1_filter(x, 0.0), x)
    with pytest.raises(ValueError, match="coef"):
        ar1_filter(x, float("nan"))
    with pytest.raises(ValueError, match="dim"):
        ar1_filter(x, 0.5, dim=3)
    with pytest.raises(TypeError, match="floating"):
        ar1_filter(torch.arange(4), 0.5)
