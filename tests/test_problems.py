"""Tests of sgdsde.problems: per-sample gradients against autograd, finite differences, closed forms."""
import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from sgdsde import problems as P

f64 = torch.float64


def sq_loss(out, t):
    return 0.5 * (out.squeeze(-1) - t) ** 2


def small_mlp(seed=0, d_in=3, hidden=4, d_out=2):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh(), nn.Linear(hidden, d_out)).to(f64)


def mlp_problem(n=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, generator=g, dtype=f64)
    y = torch.randint(2, (n,), generator=g)
    return P.TorchModel(small_mlp(seed), P._ce, X, y)


def autograd_sample_grads(problem, theta, model=None):
    """Reference: one backward() per sample through a copy of the module (default ``problem.model``) holding θ."""
    model = copy.deepcopy(problem.model if model is None else model)
    nn.utils.vector_to_parameters(theta.detach().clone(), model.parameters())
    out = []
    for i in range(problem.n):
        model.zero_grad()
        problem.loss_fn(model(problem.X[i : i + 1]).squeeze(0), problem.y[i]).backward()
        out.append(torch.cat([q.grad.reshape(-1) for q in model.parameters()]))
    return torch.stack(out)


# ---------------------------------------------------------------------------------------------
def test_linear_regression_closed_form_matches_autograd_each_sample():
    X, y = P.gaussian_regression(9, 4, seed=3)
    p = P.LinearRegression(X, y)
    theta = torch.randn(4, generator=torch.Generator().manual_seed(1), dtype=f64)
    G = p.per_sample_grads(theta)
    for i in range(p.n):
        th = theta.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(0.5 * (X[i] @ th - y[i]) ** 2, th)
        torch.testing.assert_close(G[i], g, rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(p.grad(theta), G.mean(0), rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(p.loss(theta), 0.5 * ((X @ theta - y) ** 2).mean(), rtol=1e-14, atol=0)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 12), d=st.integers(1, 6), seed=st.integers(0, 10_000), chains=st.integers(1, 3))
def test_linear_regression_property(n, d, seed, chains):
    X, y = P.gaussian_regression(n, d, seed=seed)
    p = P.LinearRegression(X, y)
    th = torch.randn(chains, d, generator=torch.Generator().manual_seed(seed), dtype=f64)
    G = p.per_sample_grads(th)
    assert G.shape == (chains, n, d)
    ref = torch.func.vmap(torch.func.vmap(torch.func.grad(lambda t, x, yy: 0.5 * (x @ t - yy) ** 2),
                                          in_dims=(None, 0, 0)), in_dims=(0, None, None))(th, X, y)
    torch.testing.assert_close(G, ref, rtol=1e-12, atol=1e-12)
    idx = torch.randint(n, (chains, 5), generator=torch.Generator().manual_seed(seed + 1))
    ref_b = torch.stack([G[c, idx[c]].mean(0) for c in range(chains)])
    torch.testing.assert_close(p.batch_grad(th, idx), ref_b, rtol=1e-12, atol=1e-12)


def test_torchmodel_per_sample_grads_match_autograd_loop():
    p = mlp_problem()
    theta = p.theta0 + 0.1 * torch.randn(p.d, generator=torch.Generator().manual_seed(2), dtype=f64)
    torch.testing.assert_close(p.per_sample_grads(theta), autograd_sample_grads(p, theta), rtol=1e-12, atol=1e-13)


def test_torchmodel_per_sample_grads_match_finite_differences():
    p = mlp_problem()
    theta = p.theta0.clone()
    G = p.per_sample_grads(theta)
    gen = torch.Generator().manual_seed(5)
    h = 1e-6
    for _ in range(3):
        v = torch.randn(p.d, generator=gen, dtype=f64)
        fd = (p.per_sample_losses(theta + h * v) - p.per_sample_losses(theta - h * v)) / (2 * h)
        torch.testing.assert_close(G @ v, fd, rtol=1e-7, atol=1e-8)


def test_torchmodel_batched_theta_and_batch_grad():
    p = mlp_problem(n=9)
    gen = torch.Generator().manual_seed(0)
    th = p.theta0 + 0.05 * torch.randn(2, 3, p.d, generator=gen, dtype=f64)
    G = p.per_sample_grads(th)
    assert G.shape == (2, 3, p.n, p.d)
    torch.testing.assert_close(G[1, 2], p.per_sample_grads(th[1, 2]), rtol=1e-13, atol=1e-14)
    assert p.per_sample_losses(th).shape == (2, 3, p.n) and p.loss(th).shape == (2, 3)
    torch.testing.assert_close(p.grad(th), G.mean(-2), rtol=1e-12, atol=1e-13)
    thc = th.reshape(6, p.d)
    idx = torch.randint(p.n, (6, 4), generator=gen)
    idx[0] = torch.tensor([1, 1, 1, 2])  # repeated indices count with multiplicity
    ref = torch.stack([p.per_sample_grads(thc[c])[idx[c]].mean(0) for c in range(6)])
    torch.testing.assert_close(p.batch_grad(thc, idx), ref, rtol=1e-12, atol=1e-13)
    # a shared θ (d,) with many batches (m, B)
    ref = torch.stack([p.per_sample_grads(thc[0])[idx[c]].mean(0) for c in range(6)])
    torch.testing.assert_close(p.batch_grad(thc[0], idx), ref, rtol=1e-12, atol=1e-13)


def test_linear_regression_agrees_with_torchmodel_linear():
    X, y = P.gaussian_regression(11, 4, seed=7)
    lr = P.LinearRegression(X, y)
    tm = P.TorchModel(nn.Linear(4, 1, bias=False), sq_loss, X, y)
    th = torch.randn(3, 4, generator=torch.Generator().manual_seed(0), dtype=f64)
    idx = torch.randint(11, (3, 5), generator=torch.Generator().manual_seed(1))
    for name in ("per_sample_losses", "loss", "per_sample_grads", "grad", "hessian"):
        torch.testing.assert_close(getattr(lr, name)(th), getattr(tm, name)(th), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(lr.batch_grad(th, idx), tm.batch_grad(th, idx), rtol=1e-12, atol=1e-12)


def test_hessian_matches_finite_differences_of_grad():
    p = mlp_problem()
    th = p.theta0
    H = p.hessian(th)
    assert H.shape == (p.d, p.d)
    torch.testing.assert_close(H, H.T, rtol=1e-10, atol=1e-12)
    h, v = 1e-5, torch.randn(p.d, generator=torch.Generator().manual_seed(0), dtype=f64)
    fd = (p.grad(th + h * v) - p.grad(th - h * v)) / (2 * h)
    torch.testing.assert_close(H @ v, fd, rtol=1e-6, atol=1e-8)


def test_deep_linear_network_closed_form_gradient():
    X, Y = P.teacher_student(10, 3, 2, 2, noise_std=0.1, seed=1)
    net = P.DeepLinearNetwork((3, 4, 2), X, Y, init_scale=0.5, seed=3)
    th = net.theta0
    W1, W2 = net.weights(th)
    assert W1.shape == (4, 3) and W2.shape == (2, 4)
    torch.testing.assert_close(net.end_to_end(th), W2 @ W1)
    G = net.per_sample_grads(th)
    for i in range(net.n):
        r = W2 @ W1 @ X[i] - Y[i]
        g1, g2 = torch.outer(W2.T @ r, X[i]), torch.outer(r, W1 @ X[i])
        torch.testing.assert_close(G[i], torch.cat([g1.reshape(-1), g2.reshape(-1)]), rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(net.loss(th), 0.5 * ((X @ (W2 @ W1).T - Y) ** 2).sum(1).mean())
    # the seed fixes the initialisation; init_scale scales it
    assert torch.equal(net.theta0, P.DeepLinearNetwork((3, 4, 2), X, Y, init_scale=0.5, seed=3).theta0)
    small = P.DeepLinearNetwork((3, 4, 2), X, Y, init_scale=0.05, seed=3)
    torch.testing.assert_close(small.theta0 * 10, net.theta0)


def test_digits_mlp():
    p = P.digits_mlp(n=40, seed=1, dtype=f64)
    assert (p.n, p.d, p.dtype) == (40, 64 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10, f64)
    full = P.digits_mlp(dtype=f64)
    assert full.n == 1797
    sd = full.X.std(0)
    assert torch.allclose(full.X.mean(0), torch.zeros(64, dtype=f64), atol=1e-12)
    assert torch.allclose(sd[sd > 0], torch.ones_like(sd[sd > 0]))
    assert bool(torch.isfinite(full.X).all()) and (sd == 0).any()  # constant pixels exist, guarded
    assert isinstance(p.model[1], nn.Tanh)
    # cross-entropy at the initial point equals torch's reference
    ref = nn.functional.cross_entropy(p.model(p.X), p.y, reduction="none")
    torch.testing.assert_close(p.per_sample_losses(p.theta0), ref, rtol=1e-12, atol=1e-13)
    q = P.digits_mlp(n=5, dtype=f64)
    torch.testing.assert_close(q.per_sample_grads(q.theta0), autograd_sample_grads(q, q.theta0), rtol=1e-11, atol=1e-13)
    assert isinstance(P.digits_mlp(n=5, activation="relu").model[1], nn.ReLU)
    with pytest.raises(ValueError, match="activation"):
        P.digits_mlp(activation="gelu")
    with pytest.raises(ValueError, match="n must"):
        P.digits_mlp(n=5000)


def test_data_makers_deterministic_and_shaped():
    X1, y1 = P.gaussian_regression(5, 3, seed=4)
    X2, y2 = P.gaussian_regression(5, 3, seed=4)
    assert torch.equal(X1, X2) and torch.equal(y1, y2)
    X0, y0 = P.gaussian_regression(50, 3, noise_std=0.0)
    torch.testing.assert_close(y0, X0 @ (torch.ones(3, dtype=f64) / 3 ** 0.5))
    Xs, ys = P.gaussian_regression(5, 2, theta_star=torch.tensor([1.0, -1.0]), noise_std=0, dtype=torch.float32)
    assert ys.dtype == torch.float32
    torch.testing.assert_close(ys, Xs[:, 0] - Xs[:, 1])
    X, Y = P.teacher_student(30, 5, 2, 4)
    assert X.shape == (30, 5) and Y.shape == (30, 4) and int(torch.linalg.matrix_rank(Y)) == 2


def test_bad_inputs_raise_naming_the_argument():
    X, y = P.gaussian_regression(5, 2)
    Xn = X.clone()
    Xn[0, 0] = float("nan")
    with pytest.raises(ValueError, match="X must be finite"):
        P.LinearRegression(Xn, y)
    yi = y.clone()
    yi[1] = float("inf")
    with pytest.raises(ValueError, match="y must be finite"):
        P.LinearRegression(X, yi)
    with pytest.raises(ValueError, match="y must have shape"):
        P.LinearRegression(X, y[:3])
    with pytest.raises(TypeError, match="X must be a torch.Tensor"):
        P.LinearRegression(X.numpy(), y)
    p = P.LinearRegression(X, y)
    with pytest.raises(ValueError, match="theta must have shape"):
        p.loss(torch.zeros(3, dtype=f64))
    with pytest.raises(TypeError, match="dtype"):
        p.grad(torch.zeros(2, dtype=torch.float32))
    with pytest.raises(ValueError, match="idx leading shape"):
        p.batch_grad(torch.zeros(2, 2, dtype=f64), torch.zeros(3, 1, dtype=torch.long))
    with pytest.raises(TypeError, match="idx must be an integer"):
        p.batch_grad(torch.zeros(2, 2, dtype=f64), torch.zeros(2, 1))
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        P.TorchModel(lambda x: x, sq_loss, X, y)
    with pytest.raises(ValueError, match="X must be finite"):
        P.TorchModel(nn.Linear(2, 1), sq_loss, Xn, y)
    with pytest.raises(ValueError, match="widths"):
        P.DeepLinearNetwork((3,), X, y[:, None])
    with pytest.raises(ValueError, match="n must be >= 1"):
        P.gaussian_regression(0, 2)
    with pytest.raises(ValueError, match="noise_std"):
        P.gaussian_regression(3, 2, noise_std=-1.0)


def test_model_is_copied_and_dtype_follows_data():
    lin = nn.Linear(2, 1)  # float32 module, float64 data: the problem works in float64
    X, y = P.gaussian_regression(4, 2)
    p = P.TorchModel(lin, sq_loss, X, y)
    assert p.theta0.dtype == f64 and lin.weight.dtype == torch.float32
    p.theta0.zero_()
    assert lin.weight.abs().sum() > 0


# -- fast exact path for stacks of nn.Linear + elementwise activations -------------------------
def _boom(*args, **kwargs):
    raise AssertionError("the generic torch.func path was used")


def _digits_subset(n=60):
    q = P.digits_mlp(n=n, seed=2, dtype=f64)
    return q.X, q.y


@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU])
@pytest.mark.parametrize("bias", [True, False])
def test_fast_linear_path_matches_torch_func(act, bias):
    X, y = _digits_subset()
    torch.manual_seed(3)
    mlp = nn.Sequential(nn.Linear(64, 16, bias=bias), act(), nn.Linear(16, 12, bias=bias), act(),
                        nn.Linear(12, 10, bias=bias))
    fast = P.TorchModel(mlp, P._ce, X, y)
    slow = P.TorchModel(mlp, P._ce, X, y, fast_linear=False)
    assert fast.fast_linear and not slow.fast_linear
    fast._psg = fast._g = _boom  # prove the fast path is the one taken
    th = fast.theta0 + 0.3 * torch.randn(3, fast.d, generator=torch.Generator().manual_seed(4), dtype=f64)
    G = fast.per_sample_grads(th)
    assert G.shape == (3, fast.n, fast.d)
    torch.testing.assert_close(G, slow.per_sample_grads(th), rtol=0, atol=1e-10)
    torch.testing.assert_close(fast.per_sample_grads(th[1]), slow.per_sample_grads(th[1]), rtol=0, atol=1e-10)
    torch.testing.assert_close(fast.grad(th), slow.grad(th), rtol=0, atol=1e-10)
    torch.testing.assert_close(fast.grad(th[0]), slow.grad(th[0]), rtol=0, atol=1e-10)
    # lead shape (2, 3) and a caller-provided output buffer
    th23 = th[:2].unsqueeze(1).expand(2, 3, fast.d)
    out = torch.full((2, 3, fast.n, fast.d), float("nan"), dtype=f64)
    assert fast.per_sample_grads(th23, out=out).data_ptr() == out.data_ptr()
    torch.testing.assert_close(out, slow.per_sample_grads(th23), rtol=0, atol=1e-10)


def test_fast_linear_path_other_layouts_and_dtypes():
    X, y = _digits_subset(20)
    torch.manual_seed(5)
    inner = nn.Sequential(nn.Linear(8, 6), nn.Sigmoid())
    mlp = nn.Sequential(nn.Identity(), nn.Linear(64, 8, bias=False), nn.Tanh(), inner, nn.Linear(6, 10),
                        nn.ReLU(inplace=True))  # nested Sequential, leading/trailing activations
    fast = P.TorchModel(mlp, P._ce, X, y)
    assert fast.fast_linear
    fast._psg = fast._g = _boom
    th = fast.theta0 + 0.2 * torch.randn(2, fast.d, generator=torch.Generator().manual_seed(0), dtype=f64)
    torch.testing.assert_close(fast.per_sample_grads(th[0]), autograd_sample_grads(fast, th[0]), rtol=0, atol=1e-12)
    slow = P.TorchModel(mlp, P._ce, X, y, fast_linear=False)
    torch.testing.assert_close(fast.per_sample_grads(th), slow.per_sample_grads(th), rtol=0, atol=1e-10)
    # float32 follows the data and agrees to float32 rounding
    f32 = P.TorchModel(mlp, P._ce, X.float(), y)
    assert f32.fast_linear and f32.per_sample_grads(f32.theta0).dtype == torch.float32
    torch.testing.assert_close(f32.per_sample_grads(th.float()), slow.per_sample_grads(th).float(),
                               rtol=1e-4, atol=1e-5)
    # the deep linear network (bias-free Linear stack) qualifies too
    Xd, Yd = P.teacher_student(10, 3, 2, 2, seed=1)
    assert P.DeepLinearNetwork((3, 4, 2), Xd, Yd).fast_linear


def test_non_qualifying_modules_use_torch_func():
    X, y = _digits_subset(12)
    torch.manual_seed(0)
    shared = nn.Linear(8, 8)

    class Custom(nn.Module):  # not a Sequential
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(64, 8), nn.Linear(8, 10)

        def forward(self, x):
            return self.b(torch.tanh(self.a(x)))

    models = {
        "GELU": nn.Sequential(nn.Linear(64, 8), nn.GELU(), nn.Linear(8, 10)),
        "shared layer": nn.Sequential(nn.Linear(64, 8), nn.Tanh(), shared, nn.Tanh(), shared, nn.Linear(8, 10)),
        "custom module": Custom(),
        "batch norm": nn.Sequential(nn.Linear(64, 8), nn.BatchNorm1d(8, track_running_stats=False), nn.Linear(8, 10)),
        "buffer": nn.Sequential(nn.Linear(64, 8), nn.Tanh(), nn.Linear(8, 10)),
    }
    models["buffer"][0].register_buffer("unused", torch.ones(1))
    hooked = nn.Sequential(nn.Linear(64, 8), nn.Tanh(), nn.Linear(8, 10))
    hooked[2].register_forward_hook(lambda m, i, o: 2 * o)
    models["forward hook"] = hooked
    for name, m in models.items():
        p = P.TorchModel(m.to(f64), P._ce, X, y)
        assert not p.fast_linear, name
        if name != "batch norm":  # batch norm mixes samples: per-sample grads of a batch of one differ
            # (reference built from ``m``: after functional_call with tied weights, p.model cannot be deep-copied)
            torch.testing.assert_close(p.per_sample_grads(p.theta0), autograd_sample_grads(p, p.theta0, m),
                                       rtol=1e-10, atol=1e-12, msg=name)
    # data that are not (n, in_features) keep the generic path
    lin = nn.Linear(4, 1, bias=False)
    X3 = torch.randn(5, 2, 4, dtype=f64)
    p3 = P.TorchModel(lin, lambda o, t: (o.sum() - t) ** 2, X3, torch.zeros(5, dtype=f64))
    assert not p3.fast_linear and p3.per_sample_grads(p3.theta0).shape == (5, 4)
    with pytest.raises(TypeError, match="fast_linear must be a bool"):
        P.TorchModel(lin, sq_loss, X3[:, 0], torch.zeros(5, dtype=f64), fast_linear=1)


def test_fast_linear_path_steps_aside_for_autograd_and_torch_func():
    p = mlp_problem()
    assert p.fast_linear
    th = p.theta0 + 0.1 * torch.randn(2, p.d, generator=torch.Generator().manual_seed(1), dtype=f64)
    # double backward through grad (as sgd_sde's order-2 drift does): ½∇‖g_n‖² = H g_n
    t = th.clone().requires_grad_(True)
    g = p.grad(t)
    assert g.requires_grad
    (hg2,) = torch.autograd.grad((g * g).sum(), t)
    Hg = (p.hessian(th) @ p.grad(th).unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(0.5 * hg2, Hg, rtol=1e-10, atol=1e-12)
    # a torch.func transform over the engine
    torch.testing.assert_close(torch.func.vmap(p.per_sample_grads)(th), p.per_sample_grads(th), rtol=0, atol=1e-12)
    torch.testing.assert_close(torch.func.vmap(p.grad)(th), p.grad(th), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="out must be"):
        p.per_sample_grads(th, out=torch.empty(p.n, p.d, dtype=f64))


# -- bad input, the same way across problems (issue 14 item 7) ---------------------------------
def _all_problems():
    X, y = P.gaussian_regression(6, 2, seed=0)
    Xd, Yd = P.teacher_student(6, 2, 2, 2, seed=0)
    yield P.LinearRegression(X, y)
    yield P.TorchModel(nn.Linear(2, 1), sq_loss, X, y)
    yield P.TorchModel(nn.Linear(2, 1), sq_loss, X, y, backend="func")
    yield P.DeepLinearNetwork((2, 3, 2), Xd, Yd)
    yield P.ShiftedLoss(lambda th: 0.5 * (th**2).sum(-1), y[:, None] * X)
    yield P.ShiftedLoss.quadratic(torch.eye(2, dtype=f64), X)


@pytest.mark.parametrize("bad", [-1, 6, 100])
def test_batch_grad_out_of_range_indices(bad):
    for p in _all_problems():
        idx = torch.tensor([[0, bad], [1, 2]])
        with pytest.raises(IndexError, match=r"idx must hold indices in \[0, n - 1\] = \[0, 5\]"):
            p.batch_grad(p.theta0.expand(2, p.d), idx)


def test_sampler_indices_skip_nothing_but_the_check():
    """Indices from sgdsde.sampling are tagged in range; a hand-made tensor is checked."""
    from sgdsde import sampling as S

    p = next(_all_problems())
    idx = S.make_sampler("reshuffle", p.n, 2, 3, torch.Generator().manual_seed(0))()
    assert p.batch_grad(p.theta0, idx).shape == (3, p.d)
    other = S.with_replacement(50, 2, 3, torch.Generator().manual_seed(0))  # tagged for n = 50
    if int(other.max()) >= p.n:
        with pytest.raises(IndexError):
            p.batch_grad(p.theta0, other)


@pytest.mark.parametrize("wrong", [torch.float32, torch.float16])
def test_dtype_mismatch_is_a_type_error_naming_theta(wrong):
    for p in _all_problems():
        th = p.theta0.to(wrong)
        for call in (p.loss, p.grad, p.per_sample_grads, p.per_sample_losses,
                     lambda t, p=p: p.batch_grad(t, torch.tensor([[0]]))):
            with pytest.raises(TypeError, match="theta has dtype"):
                call(th)


def test_float32_problems_refuse_float64_theta():
    X, y = P.gaussian_regression(6, 2, seed=0, dtype=torch.float32)
    for p in (P.LinearRegression(X, y), P.TorchModel(nn.Linear(2, 1), sq_loss, X, y),
              P.ShiftedLoss(lambda th: (th**2).sum(-1), X)):
        assert p.grad(p.theta0).dtype == torch.float32
        with pytest.raises(TypeError, match="theta has dtype torch.float64"):
            p.grad(p.theta0.double())


def test_numpy_integers_accepted_for_int_arguments():
    import numpy as np

    X, y = P.gaussian_regression(np.int64(7), np.int32(3), seed=np.int64(2))
    assert torch.equal(X, P.gaussian_regression(7, 3, seed=2)[0])
    Xd, Yd = P.teacher_student(np.int64(8), np.int64(3), np.int64(2), np.int64(2), seed=np.int16(1))
    net = P.DeepLinearNetwork((np.int64(3), np.int64(4), np.int64(2)), Xd, Yd, seed=np.int64(0))
    assert net.d == 20 and type(net.widths[0]) is int
    assert P.digits_mlp((np.int64(4),), n=np.int64(9), seed=np.int64(0)).n == 9
    with pytest.raises(TypeError, match=r"widths\[1\] must be an int"):
        P.DeepLinearNetwork((3, 2.5, 2), Xd, Yd)
    with pytest.raises(TypeError, match="seed must be an int"):
        P.gaussian_regression(3, 2, seed=1.0)


# -- backends ------------------------------------------------------------------------------------
def test_backend_option():
    X, y = P.gaussian_regression(6, 2, seed=0)
    p = P.TorchModel(nn.Linear(2, 1), sq_loss, X, y, backend="linear")
    assert isinstance(p.backend, P.LinearBackend) and p.fast_linear
    assert isinstance(P.TorchModel(nn.Linear(2, 1), sq_loss, X, y, fast_linear=False).backend, P.FuncBackend)
    with pytest.raises(ValueError, match="backend='linear' needs"):
        P.TorchModel(nn.Sequential(nn.Linear(2, 2), nn.GELU(), nn.Linear(2, 1)), sq_loss, X, y,
                     backend="linear")
    with pytest.raises(ValueError, match="backend must be"):
        P.TorchModel(nn.Linear(2, 1), sq_loss, X, y, backend="fast")
    with pytest.raises(TypeError, match="out has dtype"):
        p.per_sample_grads(p.theta0, out=torch.empty(6, 3))


def test_linear_backend_batch_grad_matches_func():
    p = mlp_problem(n=9)
    f = P.TorchModel(p.model, p.loss_fn, p.X, p.y, backend="func")
    g = torch.Generator().manual_seed(3)
    th = p.theta0 + 0.3 * torch.randn(4, p.d, generator=g, dtype=f64)
    idx = torch.randint(p.n, (4, 5), generator=g)
    torch.testing.assert_close(p.batch_grad(th, idx), f.batch_grad(th, idx))
    torch.testing.assert_close(p.batch_grad(th[0], idx), f.batch_grad(th[0], idx))
    ref = torch.stack([p.per_sample_grads(th[c])[idx[c]].mean(0) for c in range(4)])
    torch.testing.assert_close(p.batch_grad(th, idx), ref)


# -- ShiftedLoss: the chapters' TorchModel(nn.Linear(1, k), ...) problems, in closed form -------
def _chapter_quadratic(H, c):
    n = c.shape[0]
    return P.TorchModel(nn.Linear(1, c.shape[1], bias=False),
                        lambda out, t: 0.5 * (out - t) @ H @ (out - t), torch.ones(n, 1, dtype=f64), c)


def _compare(a, b, th, idx):
    for name in ("per_sample_losses", "loss", "per_sample_grads", "grad", "hessian"):
        torch.testing.assert_close(getattr(a, name)(th), getattr(b, name)(th), msg=name)
    torch.testing.assert_close(a.batch_grad(th, idx), b.batch_grad(th, idx))


def test_shifted_quadratic_reproduces_the_chapter_trick():
    g = torch.Generator().manual_seed(0)
    H = torch.tensor([[2.0, 0.3], [0.3, 0.5]], dtype=f64)
    c = torch.randn(12, 2, generator=g, dtype=f64)
    th = torch.randn(3, 2, generator=g, dtype=f64)
    idx = torch.randint(12, (3, 4), generator=g)
    q = P.ShiftedLoss.quadratic(H, c)
    _compare(q, _chapter_quadratic(H, c), th, idx)
    # additive noise: Σ_emp = Cov(H c_i) whatever θ
    from sgdsde import noise

    S = noise.empirical_covariance(q, th)
    want = H @ torch.cov(c.T, correction=0) @ H
    torch.testing.assert_close(S, want.expand_as(S))
    # with a transform A (the preconditioned chapter line): ½(Aθ − c)ᵀH(Aθ − c)
    A = torch.tensor([[1.0, 0.2], [0.0, 0.7]], dtype=f64)
    ref = P.TorchModel(nn.Linear(1, 2, bias=False), lambda out, t: 0.5 * (A @ out - t) @ H @ (A @ out - t),
                       torch.ones(12, 1, dtype=f64), c)
    _compare(P.ShiftedLoss.quadratic(H, c, A=A), ref, th, idx)


def test_shifted_double_well_and_features_reproduce_the_chapter_trick():
    g = torch.Generator().manual_seed(1)
    c = torch.randn(10, 1, generator=g, dtype=f64)
    th = torch.linspace(-1.5, 1.5, 5, dtype=f64)[:, None]
    idx = torch.randint(10, (5, 3), generator=g)
    dw_ref = P.TorchModel(nn.Linear(1, 1, bias=False), lambda out, t: (out**4 / 4 - out**2 / 2 - t * out).sum(),
                          torch.ones(10, 1, dtype=f64), c)
    dw = P.ShiftedLoss(lambda t: (t**4 / 4 - t**2 / 2).sum(-1), c, grad=lambda t: t**3 - t)
    _compare(dw, dw_ref, th, idx)
    _compare(P.ShiftedLoss(lambda t: (t**4 / 4 - t**2 / 2).sum(-1), c), dw_ref, th, idx)  # autograd ∇f
    # multiplicative: ℓ_i = hθ²/2 − c_i φ(θ) (the s2_2 'msig' line), φ by its Jacobian
    s0, s1 = 1.0, 0.4

    def phi(t):
        return t / 2 * torch.sqrt(s0 + s1 * t**2) + s0 / (2 * s1**0.5) * torch.asinh(t * (s1 / s0) ** 0.5)

    ms_ref = P.TorchModel(nn.Linear(1, 1, bias=False), lambda out, t: (out**2 / 2 - t * phi(out)).sum(),
                          torch.ones(10, 1, dtype=f64), c)
    _compare(P.ShiftedLoss(lambda t: (t**2).sum(-1) / 2, c, features=phi, d=1), ms_ref, th, idx)


def test_shifted_bad_inputs():
    c = torch.zeros(4, 2, dtype=f64)
    with pytest.raises(TypeError, match="f must be callable"):
        P.ShiftedLoss(3, c)
    with pytest.raises(TypeError, match="shifts must be a torch.Tensor"):
        P.ShiftedLoss(lambda t: t.sum(-1), [[0.0]])
    with pytest.raises(ValueError, match="shifts must be finite"):
        P.ShiftedLoss(lambda t: t.sum(-1), torch.full((2, 1), float("nan"), dtype=f64))
    with pytest.raises(ValueError, match="d .* is needed"):
        P.ShiftedLoss(lambda t: t.sum(-1), c, features=lambda t: t)
    with pytest.raises(ValueError, match="H must have shape"):
        P.ShiftedLoss.quadratic(torch.eye(3, dtype=f64), c)


# --- binary_cross_entropy -----------------------------------------------------------------------


def test_binary_cross_entropy_matches_torch_and_logistic_gradient():
    g = torch.Generator().manual_seed(1)
    z = 3 * torch.randn(50, 1, generator=g, dtype=torch.float64)
    t = (torch.rand(50, generator=g, dtype=torch.float64) < 0.5).to(torch.float64)
    ours = torch.stack([P.binary_cross_entropy(z[i], t[i]) for i in range(50)])
    ref = nn.functional.binary_cross_entropy_with_logits(z[:, 0], t, reduction="none")
    assert torch.allclose(ours, ref, rtol=1e-12, atol=1e-14 * float(ref.abs().max()))
    torch.manual_seed(0)
    X = torch.randn(16, 1, generator=g, dtype=torch.float64)
    m = P.TorchModel(nn.Linear(1, 1), P.binary_cross_entropy, X, t[:16])
    th = torch.tensor([0.3, -0.2], dtype=torch.float64)        # (weight, bias)
    r = torch.sigmoid(X[:, 0] * th[0] + th[1]) - t[:16]           # ∂ℓ/∂z = σ(z) − t
    g_exact = torch.stack([(r * X[:, 0]).mean(), r.mean()])
    assert torch.allclose(m.grad(th), g_exact, rtol=1e-10, atol=0)


# --- from_potential -----------------------------------------------------------------------------


def test_from_potential_double_well_matches_torch_model_trick_and_rejects_non_fields():
    from sgdsde.potentials import QuarticDoubleWell

    g = torch.Generator().manual_seed(2)
    c = torch.randn(12, 1, generator=g, dtype=torch.float64)
    dw = P.from_potential(QuarticDoubleWell(), c)
    torch.manual_seed(0)
    ref = P.TorchModel(nn.Linear(1, 1, bias=False),
                       lambda out, t: (out**4 / 4 - out**2 / 2 - t * out).sum(),
                       torch.ones(12, 1, dtype=torch.float64), c)
    th = torch.linspace(-2, 2, 5, dtype=torch.float64)[:, None]
    idx = torch.randint(0, 12, (5, 3), generator=g)
    for a, b in ((dw.per_sample_grads(th), ref.per_sample_grads(th)),
                 (dw.grad(th), ref.grad(th)), (dw.batch_grad(th, idx), ref.batch_grad(th, idx)),
                 (dw.per_sample_losses(th), ref.per_sample_losses(th))):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12 * float(b.abs().max()))
    assert torch.allclose(dw.hessian(th[1]), 3 * th[1] ** 2 - 1)
    with pytest.raises(TypeError, match="potential must"):
        P.from_potential(lambda x: -x, c)


# --- quadratic_variance_loss --------------------------------------------------------------------


def test_quadratic_variance_loss_has_exact_state_dependent_noise():
    from sgdsde.noise import empirical_covariance

    g = torch.Generator().manual_seed(4)
    c = torch.randn(40, 1, generator=g, dtype=torch.float64)
    c = (c - c.mean()) / c.std(correction=0)
    q = P.quadratic_variance_loss(1.5, 1.0, 0.7, c)
    th = torch.linspace(-1.5, 1.5, 7, dtype=torch.float64)[:, None]
    assert torch.allclose(q.grad(th), 1.5 * th, rtol=1e-12, atol=1e-12)
    S = empirical_covariance(q, th)[:, 0, 0]
    assert torch.allclose(S, 1.0 + 0.7 * th[:, 0] ** 2, rtol=1e-12)
    with pytest.raises(ValueError, match="s1 must"):
        P.quadratic_variance_loss(1.0, 1.0, 0.0, c)


def test_binary_cross_entropy_with_labels_stored_as_a_column_matches_autograd():
    """Labels of shape (n, 1) used to broadcast against the scalar logit inside the batched loss
    (grad off by ~5 on this case); the per-example loss now reduces both to scalars."""
    from sgdsde.problems import TorchModel, binary_cross_entropy

    gen = torch.Generator().manual_seed(0)
    X = torch.randn(20, 3, dtype=torch.float64, generator=gen)
    y = (torch.rand(20, generator=gen) < 0.5).double()
    for labels in (y, y[:, None]):
        torch.manual_seed(1)
        p = TorchModel(torch.nn.Linear(3, 1).double(), binary_cross_entropy, X, labels)
        theta = p.theta0.clone().requires_grad_(True)
        (auto,) = torch.autograd.grad(p.loss(theta), theta)
        torch.testing.assert_close(p.grad(p.theta0), auto, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="one value each"):
        binary_cross_entropy(torch.zeros(2), torch.tensor(1.0))
