"""Tests of sgdsde.sgd: GD limit, reproducibility, batches per chain, momentum, records, divergence."""
import pytest
import torch

from sgdsde import problems as P
from sgdsde import sampling as S
from sgdsde import sgd

f64 = torch.float64


@pytest.fixture(scope="module")
def prob():
    return P.LinearRegression(*P.gaussian_regression(40, 4, seed=0))


def gd(problem, theta, lrs):
    for e in lrs:
        theta = theta - e * problem.grad(theta)
    return theta


def test_full_batch_is_gd(prob):
    th0 = torch.randn(3, 4, generator=torch.Generator().manual_seed(0), dtype=f64)
    ref = gd(prob, th0, [0.1] * 50)
    tr = sgd.run(prob, th0, 0.1, None, 50, record_every=50)
    torch.testing.assert_close(tr.final, ref, rtol=1e-13, atol=1e-15)
    for scheme in ("without_replacement", "reshuffle"):  # B = n: the batch is the data set
        tr = sgd.run(prob, th0, 0.1, prob.n, 50, sampling=scheme, record_every=50)
        torch.testing.assert_close(tr.final, ref, rtol=1e-13, atol=1e-15)
    # and B = n through the stochastic code path (a permutation of all rows) agrees to rounding
    idx = S.without_replacement(prob.n, prob.n, 3, torch.Generator().manual_seed(0))
    torch.testing.assert_close(prob.batch_grad(th0, idx), prob.grad(th0), rtol=1e-12, atol=1e-14)


def test_one_step_uses_the_sampler_stream_per_chain(prob):
    """Chain c's step k uses row c of the k-th draw of a generator seeded with `seed`."""
    th0 = prob.theta0
    for scheme in ("with_replacement", "without_replacement", "reshuffle"):
        tr = sgd.run(prob, th0, 0.05, 5, 3, chains=6, seed=7, sampling=scheme)
        draw = S.make_sampler(scheme, prob.n, 5, 6, torch.Generator().manual_seed(7))
        th = th0.expand(6, 4)
        for k in range(3):
            th = th - 0.05 * prob.batch_grad(th, draw())
            torch.testing.assert_close(tr.theta[k + 1], th, rtol=1e-13, atol=1e-16)
        assert len({tuple(r.tolist()) for r in tr.theta[1]}) == 6  # chains got different batches


def test_seed_reproducibility(prob):
    a = sgd.run(prob, None, 0.05, 5, 100, chains=4, seed=3, record_noise=True)
    b = sgd.run(prob, None, 0.05, 5, 100, chains=4, seed=3, record_noise=True)
    c = sgd.run(prob, None, 0.05, 5, 100, chains=4, seed=4)
    assert torch.equal(a.theta, b.theta) and torch.equal(a.noise, b.noise) and torch.equal(a.loss, b.loss)
    assert not torch.equal(a.theta, c.theta)


def test_momentum_heavy_ball_and_zero(prob):
    th0 = torch.randn(4, generator=torch.Generator().manual_seed(1), dtype=f64)
    mu, eta = 0.9, 0.02
    tr = sgd.run(prob, th0, eta, 5, 20, chains=3, momentum=mu, seed=2)
    draw = S.make_sampler("with_replacement", prob.n, 5, 3, torch.Generator().manual_seed(2))
    th, v = th0.expand(3, 4), torch.zeros(3, 4, dtype=f64)
    for k in range(20):
        v = mu * v + prob.batch_grad(th, draw())
        th = th - eta * v
        torch.testing.assert_close(tr.theta[k + 1], th, rtol=1e-13, atol=1e-15)
    plain = sgd.run(prob, th0, eta, 5, 20, chains=3, seed=2)
    zero = sgd.run(prob, th0, eta, 5, 20, chains=3, seed=2, momentum=0.0)
    assert torch.equal(plain.theta, zero.theta)
    assert not torch.allclose(plain.theta[-1], tr.theta[-1])


def test_records_and_noise(prob):
    tr = sgd.run(prob, None, 0.05, 5, 10, chains=2, record_every=4, record_noise=True, seed=5)
    assert tr.step.tolist() == [0, 4, 8, 10]
    assert tr.theta.shape == (4, 2, 4) and tr.loss.shape == (4, 2) and tr.noise.shape == (4, 2, 4)
    torch.testing.assert_close(tr.loss, prob.loss(tr.theta))
    # ξ_0 = g_n(θ_0) − g_{B_0}(θ_0) with the batch of step 0
    idx = S.with_replacement(prob.n, 5, 2, torch.Generator().manual_seed(5))
    th0 = prob.theta0.expand(2, 4)
    torch.testing.assert_close(tr.noise[0], prob.grad(th0) - prob.batch_grad(th0, idx))
    torch.testing.assert_close(tr.theta[1] - tr.theta[0], tr.theta[1] - th0)  # θ_0 recorded as given
    g = sgd.run(prob, None, 0.05, None, 5, record_noise=True)
    assert float(g.noise.abs().max()) == 0.0  # full batch: no noise
    z = sgd.run(prob, None, 0.05, 5, 0)
    assert z.step.tolist() == [0] and z.theta.shape == (1, 1, 4)
    assert sgd.run(prob, None, 0.05, 5, 3, record_loss=False).loss is None


def test_schedules(prob):
    th0 = prob.theta0
    tr = sgd.run(prob, th0, sgd.inverse_sqrt(0.2), None, 30, record_every=30)
    torch.testing.assert_close(tr.final[0], gd(prob, th0, [0.2 / (k + 1) ** 0.5 for k in range(30)]))
    torch.testing.assert_close(tr.lr[:3], torch.tensor([0.2, 0.2 / 2**0.5, 0.2 / 3**0.5], dtype=f64))
    tc = sgd.run(prob, th0, sgd.constant(0.1), None, 5)
    torch.testing.assert_close(tc.final[0], gd(prob, th0, [0.1] * 5))


def test_threads_restored(prob):
    before = torch.get_num_threads()
    sgd.run(prob, None, 0.05, 5, 3, threads=1)
    assert torch.get_num_threads() == before
    assert sgd.recommended_threads(prob, 5, chains=4) == 1


def test_bad_inputs(prob):
    th = prob.theta0
    cases = [
        (dict(batch_size=41, sampling="without_replacement"), ValueError, r"batch_size must be in \[1, n\] = \[1, 40\]"),
        (dict(batch_size=41, sampling="reshuffle"), ValueError, "batch_size must be in"),
        (dict(batch_size=0), ValueError, "batch_size must be >= 1"),
        (dict(batch_size=2.5), TypeError, "batch_size must be an int"),
        (dict(lr=0.0), ValueError, "lr must be a finite number > 0"),
        (dict(lr=-1.0), ValueError, "lr must be"),
        (dict(lr=float("nan")), ValueError, "lr must be"),
        (dict(lr="big"), TypeError, "lr must be a number > 0 or a callable"),
        (dict(lr=lambda k: 0.1 if k < 2 else 0.0), ValueError, r"lr\(k\) must return .* lr\(2\) = 0.0"),
        (dict(steps=-1), ValueError, "steps must be an int >= 0"),
        (dict(theta0=torch.zeros(5, dtype=f64)), ValueError, "theta0 must have shape"),
        (dict(theta0=torch.zeros(3, 4, dtype=f64), chains=2), ValueError, "must equal chains = 2"),
        (dict(theta0=torch.zeros(4, dtype=torch.float32)), TypeError, "theta0 has dtype"),
        (dict(momentum=1.0), ValueError, r"momentum must be a float in \[0, 1\)"),
        (dict(sampling="poisson"), ValueError, "sampling must be one of"),
        (dict(on_divergence="ignore"), ValueError, "on_divergence must be"),
        (dict(record_every=0), ValueError, "record_every must be"),
        (dict(chains=0), ValueError, "chains must be an int >= 1"),
    ]
    for kw, err, msg in cases:
        args = dict(theta0=th, lr=0.1, batch_size=5, steps=3) | kw
        with pytest.raises(err, match=msg):
            sgd.run(prob, args.pop("theta0"), args.pop("lr"), args.pop("batch_size"), args.pop("steps"), **args)
    with pytest.raises(TypeError, match="problem must be"):
        sgd.run("prob", th, 0.1, 5, 3)
    with pytest.raises(ValueError, match="eta must be"):
        sgd.constant(0)


def test_divergence_raises_with_step_and_chains(prob):
    lam_max = float(torch.linalg.eigvalsh(prob.hessian(prob.theta0))[-1])
    with pytest.raises(sgd.DivergenceError, match=r"diverged at step \d+: .* in 3 chain\(s\) \[0, 1, 2\]") as ei:
        sgd.run(prob, torch.ones(3, 4, dtype=f64), 3.0 / lam_max, None, 5000)
    e = ei.value
    assert e.chains == [0, 1, 2] and e.step > 1
    assert bool(torch.isfinite(e.trajectory.theta).all()) and int(e.trajectory.step[-1]) < e.step
    # one chain blown up at θ_1 (record_loss off: the iterate itself overflows)
    th0 = torch.zeros(4, 4, dtype=f64)
    th0[2] = 1e308
    with pytest.raises(sgd.DivergenceError, match=r"step 1: .* 1 chain\(s\) \[2\]") as ei:
        sgd.run(prob, th0, 0.1, 5, 10, record_loss=False)
    assert ei.value.step == 1 and ei.value.chains == [2]
    # with the loss recorded, the overflowing L_n(θ_0) is caught already at step 0
    with pytest.raises(sgd.DivergenceError, match="step 0"):
        sgd.run(prob, th0, 0.1, 5, 10)


def test_divergence_flag_freezes_and_continues(prob):
    th0 = torch.zeros(4, 4, dtype=f64)
    th0[1] = 1e308
    th0[3] = -1e308
    tr = sgd.run(prob, th0, 0.1, None, 40, record_every=10, record_loss=False, on_divergence="flag")
    assert tr.diverged.tolist() == [False, True, False, True]
    assert tr.diverged_step.tolist() == [-1, 1, -1, 1]
    assert bool(torch.isfinite(tr.theta).all())  # never a silent NaN in the records
    torch.testing.assert_close(tr.final[[0, 2]], gd(prob, th0[[0, 2]], [0.1] * 40))
    torch.testing.assert_close(tr.final[1], th0[1])  # frozen at its last finite iterate
    # momentum state of a frozen chain is reset and the others are unaffected
    tm = sgd.run(prob, th0, 0.05, 5, 30, momentum=0.5, record_loss=False, on_divergence="flag", seed=1)
    assert tm.diverged.tolist() == [False, True, False, True] and bool(torch.isfinite(tm.theta).all())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_runs_and_matches_cpu_where_deterministic(prob):
    cp = P.LinearRegression(prob.X.cuda(), prob.y.cuda())
    th0 = torch.randn(3, 4, generator=torch.Generator().manual_seed(0), dtype=f64)
    g_cpu = sgd.run(prob, th0, 0.1, None, 50, record_every=10)
    g_gpu = sgd.run(cp, th0.cuda(), 0.1, None, 50, record_every=10)
    torch.testing.assert_close(g_gpu.theta.cpu(), g_cpu.theta, rtol=1e-12, atol=1e-14)
    tr = sgd.run(cp, None, 0.05, 5, 100, chains=16, sampling="without_replacement", record_noise=True, seed=1)
    assert tr.theta.device.type == "cuda" and tr.noise.device.type == "cuda"
    assert torch.equal(tr.theta, sgd.run(cp, None, 0.05, 5, 100, chains=16, sampling="without_replacement",
                                         record_noise=True, seed=1).theta)
    th = torch.zeros(4, 4, dtype=f64, device="cuda")
    th[2] = 1e308
    with pytest.raises(sgd.DivergenceError, match=r"step 1: .* \[2\]"):
        sgd.run(cp, th, 0.1, 5, 200, record_loss=False)
    fl = sgd.run(cp, th, 0.1, 5, 200, record_loss=False, on_divergence="flag")
    assert fl.diverged.tolist() == [False, False, True, False] and bool(torch.isfinite(fl.theta).all())
    assert fl.diverged_step.tolist() == [-1, -1, 1, -1]


def test_lr_accepts_numpy_and_tensor_scalars(prob):
    import numpy as np

    a = sgd.run(prob, None, 0.1, None, 5)
    for lr in (np.float32(0.1), torch.tensor(0.1, dtype=f64), lambda k: np.float64(0.1)):
        torch.testing.assert_close(sgd.run(prob, None, lr, None, 5).theta, a.theta, rtol=1e-6, atol=1e-9)


# --- gradient_flow ------------------------------------------------------------------------------


def test_gradient_flow_matches_linear_closed_form_and_rejects_bad_input():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(20, 3, generator=g, dtype=torch.float64)
    y = torch.randn(20, generator=g, dtype=torch.float64)
    p = P.LinearRegression(X, y)
    th0 = torch.ones(3, dtype=torch.float64)
    H = X.T @ X / 20
    exact = p.minimizer() + torch.linalg.matrix_exp(-1.5 * H) @ (th0 - p.minimizer())
    th = sgd.gradient_flow(p, th0, 1.5)
    scale = float(exact.abs().max())
    assert torch.allclose(th, exact, rtol=0, atol=1e-8 * scale)
    with pytest.raises(ValueError, match="T must"):
        sgd.gradient_flow(p, th0, 0.0)
    with pytest.raises(ValueError, match="rtol must"):
        sgd.gradient_flow(p, th0, 1.0, rtol=-1)
    with pytest.raises(ValueError, match="theta0 must"):
        sgd.gradient_flow(p, torch.ones(2, dtype=torch.float64), 1.0)
    with pytest.raises(TypeError, match="problem must"):
        sgd.gradient_flow("not a problem", th0, 1.0)
