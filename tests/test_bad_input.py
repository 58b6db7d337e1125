"""Bad input gets a clear error naming the argument and its allowed range (issue 14 item 7).

One test per kind of bad input, across the engines:

* batch indices outside [0, n − 1] in ``batch_grad``;
* something that is not a Problem passed to an engine that needs one;
* a θ of another floating dtype than the problem's: a ``TypeError`` everywhere, never a silent cast;
* numpy integers: accepted everywhere an int is (sizes, counts, seeds);
* a negative ``noise_every``;
* tail-index estimators on constant or all-zero data.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from sgdsde import levy, noise, sde, sgd, stats
from sgdsde import linear_theory as LT
from sgdsde import problems as P
from sgdsde import sampling as S
from sgdsde.dynamics import EulerMaruyama, integrate

f64 = torch.float64


def _problems():
    X, y = P.gaussian_regression(8, 3, seed=0)
    yield P.LinearRegression(X, y)
    yield P.TorchModel(nn.Linear(3, 1, dtype=f64), lambda out, t: 0.5 * (out[..., 0] - t) ** 2, X, y)
    yield P.TorchModel(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double(),
                       lambda out, t: 0.5 * (out[..., 0] - t) ** 2, X, y)


@pytest.mark.parametrize("bad", [8, -1, 100])
def test_batch_grad_rejects_indices_out_of_range(bad):
    for p in _problems():
        idx = torch.tensor([[0, bad]])
        with pytest.raises(IndexError, match=r"idx must hold indices in \[0, n - 1\] = \[0, 7\]"):
            p.batch_grad(p.theta0, idx)
        with pytest.raises(IndexError, match="idx must hold indices"):
            p.batch_grad(p.theta0.expand(2, -1), torch.tensor([[0], [bad]]))


def test_engines_reject_what_is_not_a_problem():
    X, y = P.gaussian_regression(8, 3, seed=0)
    th = torch.zeros(3, dtype=f64)
    calls = {
        "sgd_sde": lambda: sde.sgd_sde((X, y), th, 0.1, 4, 2, seed=0),
        "sgd.run": lambda: sgd.run((X, y), th, 0.1, 2, 4, seed=0),
        "empirical_covariance": lambda: noise.empirical_covariance((X, y), th),
        "top_eigen": lambda: noise.top_eigen((X, y), th, 1),
    }
    for call in calls.values():
        with pytest.raises(TypeError, match="problem must be an sgdsde.problems"):
            call()


@pytest.mark.parametrize("wrong", [torch.float32, torch.float16])
def test_theta_of_another_dtype_is_a_type_error_everywhere(wrong):
    p = next(_problems())
    th = p.theta0.to(wrong)
    calls = {
        "sgd.run": lambda: sgd.run(p, th, 0.1, 2, 3, seed=0),
        "sgd_sde": lambda: sde.sgd_sde(p, th, 0.1, 2, 3, seed=0),
        "noise_factor": lambda: noise.noise_factor(p, th),
        "empirical_covariance": lambda: noise.empirical_covariance(p, th),
        "sample_batch_grads": lambda: noise.sample_batch_grads(p, th, 2, 3, seed=0),
        "top_eigen": lambda: noise.top_eigen(p, th, 1),
        "grad": lambda: p.grad(th),
    }
    for call in calls.values():
        with pytest.raises(TypeError, match=f"theta0? has dtype {wrong}".replace(".", r"\.")):
            call()
    # a float32 problem is as strict about float64
    X, y = P.gaussian_regression(8, 3, seed=0, dtype=torch.float32)
    q = P.LinearRegression(X, y)
    with pytest.raises(TypeError, match="theta0 has dtype torch.float64"):
        sde.sgd_sde(q, q.theta0.double(), 0.1, 2, 3, seed=0)
    assert sde.sgd_sde(q, q.theta0, 0.1, 2, 3, seed=0).x.dtype == torch.float32


def test_numpy_integers_are_accepted_everywhere_an_int_is():
    i = np.int64
    p = next(_problems())
    gen = torch.Generator().manual_seed(0)
    ref = sgd.run(p, None, 0.1, 2, 4, chains=3, seed=5, record_every=2)
    got = sgd.run(p, None, 0.1, i(2), i(4), chains=i(3), seed=i(5), record_every=i(2))
    assert torch.equal(ref.theta, got.theta)
    ref = sde.sgd_sde(p, p.theta0, 0.1, 2, 4, chains=2, seed=1)
    got = sde.sgd_sde(p, p.theta0, 0.1, i(2), i(4), chains=i(2), seed=i(1))
    assert torch.equal(ref.x, got.x)
    em = EulerMaruyama(lambda x: -x, 1.0, 0.01)
    assert torch.equal(integrate(em, torch.zeros(2), 3, seed=0).x, integrate(em, torch.zeros(2), i(3), seed=i(0)).x)
    assert levy.symmetric_stable(1.5, i(10), generator=gen).shape == (10,)
    assert levy.symmetric_stable(1.5, (i(2), np.int32(3)), generator=gen).shape == (2, 3)
    x = torch.randn(200, dtype=f64, generator=gen)
    assert torch.equal(levy.tail_index_hill(x, k=i(20)), levy.tail_index_hill(x, k=20))
    assert S.make_sampler("with_replacement", i(8), i(2), i(3), gen)().shape == (3, 2)
    assert torch.equal(noise.top_eigen(p, p.theta0, i(2))[0], noise.top_eigen(p, p.theta0, 2)[0])
    assert torch.equal(noise.sample_batch_grads(p, p.theta0, i(2), i(5), seed=i(1)),
                       noise.sample_batch_grads(p, p.theta0, 2, 5, seed=1))
    assert noise.sharpness(p, p.theta0, iters=i(3))[0] == noise.sharpness(p, p.theta0, iters=3)[0]
    assert LT.reshuffle_variance_factor(0.5, i(3)) == LT.reshuffle_variance_factor(0.5, 3)
    assert stats.false_failure_prob(5.0, i(3)) == stats.false_failure_prob(5.0, 3)
    # ... and floats or bools are not ints
    with pytest.raises(ValueError, match="steps must be an int >= 0"):
        sgd.run(p, None, 0.1, 2, 4.0, seed=0)
    with pytest.raises(TypeError, match="size must be an int or a tuple of ints"):
        levy.symmetric_stable(1.5, 10.0, generator=gen)
    with pytest.raises(ValueError, match=r"k must be an int in \[1, d\]"):
        noise.top_eigen(p, p.theta0, True)


def test_negative_noise_every_is_refused():
    from sgdsde.experiments import grokking

    with pytest.raises(ValueError, match="noise_every"):
        grokking.train("cpu", steps=2, log_every=1, noise_every=-1, noise_samples=8, noise_draws=8)


@pytest.mark.parametrize("estimator", [levy.tail_index_mohammadi, levy.tail_index_hill])
@pytest.mark.parametrize(("x", "message"), [
    (torch.ones(100, dtype=f64), "x is constant"),
    (torch.full((100, 3), -2.5, dtype=f64), "x is constant"),
    (torch.zeros(100, dtype=f64), "x is all zeros"),
    (torch.zeros(64, 2), "x is all zeros"),
])
def test_tail_index_estimators_refuse_constant_or_zero_data(estimator, x, message):
    with pytest.raises(ValueError, match=message):
        estimator(x)
