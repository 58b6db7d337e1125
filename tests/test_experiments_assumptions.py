"""Unit tests of sgdsde.experiments.assumptions (the §2.3–2.4 impact figures)."""

import json
import math

import pytest
import torch

from sgdsde.experiments import assumptions as A


@pytest.fixture(scope="module")
def small():
    cfg = A.Config(n_data=224, chains=16, steps=200, burn=50, sched_steps=30)
    return cfg, A.yardstick(cfg)


def test_config_rejects_bad_input():
    with pytest.raises(ValueError, match="burn"):
        A.Config(steps=10, burn=10)
    with pytest.raises(ValueError, match="momentum"):
        A.Config(momentum=1.0)
    with pytest.raises(ValueError, match="measures"):
        A.NetConfig(measures=("nonsense",))


def test_same_config_same_numbers(small):
    cfg, ys = small
    a, b = A.impact_gaussian(ys, cfg), A.impact_gaussian(A.yardstick(cfg), cfg)
    assert a.value == b.value and a.se == b.se


def test_measure_all_is_json_serialisable(small):
    cfg, ys = small
    imp = A.measure_all(cfg, ys)
    assert set(imp) == set(A.MEASURES)
    rec = {k: v.record() for k, v in imp.items() if math.isfinite(v.value)}
    json.dumps(rec)


def test_exact_impacts_signs(small):
    cfg, ys = small
    # SDE below SGD; constant Σ below Σ(θ); the factor-free SDE above SGD without replacement
    assert A.impact_finite_eta(ys).value < 0
    assert A.impact_constant_sigma(ys).value < 0
    assert A.impact_finite_population(ys, cfg).value > 0


def test_ar1_features_lag_one():
    X, e = A.ar1_features(20000, 2, 0.5, torch.Generator().manual_seed(0))
    lag = float((X[1:] * X[:-1]).sum() / (X * X).sum())
    # SE of a lag-1 autocorrelation estimate ≈ sqrt((1 − ρ²)/N) ≈ 0.004 per column: 5 SE
    assert abs(lag - 0.5) < 5 * math.sqrt(0.75 / 40000)
    assert abs(float(X.var()) - 1) < 0.1 and e.shape == (20000,)
    with pytest.raises(ValueError, match="rho"):
        A.ar1_features(10, 2, 1.0, torch.Generator())
