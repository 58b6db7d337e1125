"""Tests of sgdsde.linear_theory (exact moments of least squares) and noise.sharpness.

Monte Carlo checks use 5 standard errors (false-failure odds ≈ 5.7e-7 per check).
"""
import math

import pytest
import torch
from torch import nn

from sgdsde import linear_theory as lt
from sgdsde import noise as N
from sgdsde import problems as P
from sgdsde import sgd
from sgdsde.stats import assert_within_se, mean_se

f64 = torch.float64


@pytest.fixture(scope="module")
def ops():
    return lt.moment_operators(P.LinearRegression(*P.gaussian_regression(20, 2, noise_std=0.5, seed=3)))


def test_operators_match_their_definitions(ops):
    p, d = ops.problem, ops.d
    K = sum(torch.kron(torch.outer(x, x), torch.outer(x, x)) for x in p.X) / p.n
    assert torch.allclose(ops.K, K, atol=1e-12)
    assert torch.allclose(ops.Hsum, torch.kron(ops.H, torch.eye(d, dtype=f64)) + torch.kron(torch.eye(d, dtype=f64), ops.H))
    assert torch.allclose(ops.theta, p.minimizer()) and torch.allclose(p.grad(ops.theta), torch.zeros(d, dtype=f64), atol=1e-12)
    # E[Σ_emp(θ̂ + δ)] quadratic part is (K − H⊗H) vec(δδᵀ): the even part of Σ_emp at ±δ
    delta = torch.tensor([0.4, -0.7], dtype=f64)
    even = (N.empirical_covariance(p, ops.theta + delta) + N.empirical_covariance(p, ops.theta - delta)) / 2
    quad = ((ops.K - ops.HH) @ torch.outer(delta, delta).reshape(-1)).reshape(d, d)
    assert torch.allclose(even, ops.Sigma + quad, atol=1e-12)
    # E[H_B ⊗ H_B] against enumeration of all ordered batches with replacement, B = 2
    X = p.X
    Hi = torch.einsum("ia,ib->iab", X, X)
    E2 = sum(torch.kron((Hi[i] + Hi[j]) / 2, (Hi[i] + Hi[j]) / 2) for i in range(p.n) for j in range(p.n)) / p.n**2
    assert torch.allclose(lt.batch_hessian_moment(ops, 2), E2, atol=1e-12)


def test_stationary_moments_solve_their_matrix_equations(ops):
    eta, B, c = 0.2, 3, 0.8
    H, S, d = ops.H, ops.Sigma, ops.d
    cross = lambda M: ((ops.K - ops.HH) @ M.reshape(-1)).reshape(d, d)  # noqa: E731
    Ma = lt.stationary_moment_additive(ops, eta, B, c)
    assert torch.allclose(H @ Ma + Ma @ H, eta * c * S / B, atol=1e-12)
    Ms = lt.stationary_moment_sde(ops, eta, B, c)
    assert torch.allclose(H @ Ms + Ms @ H - eta * c / B * cross(Ms), eta * c * S / B, atol=1e-12)
    Mg = lt.stationary_moment_sgd(ops, eta, B, c)
    assert torch.allclose(H @ Mg + Mg @ H - eta * H @ Mg @ H - eta * c / B * cross(Mg), eta * c * S / B, atol=1e-12)
    ex = [lt.excess_loss(ops, M) for M in (Ma, Ms, Mg)]
    assert ex[0] < ex[1] < ex[2]
    assert math.isclose(ex[0], eta * c * float(S.trace()) / (4 * B), rel_tol=1e-12)


def test_stability_edge_and_beyond_it(ops):
    edge = lt.sgd_stability_edge(ops, 2)
    rho = [float(torch.linalg.eigvals(lt.sgd_moment_operator(ops, f * edge, 2)).abs().max()) for f in (0.999, 1.001)]
    assert rho[0] < 1 < rho[1]
    assert edge < 2 / float(torch.linalg.eigvalsh(ops.H).max())
    with pytest.raises(ValueError, match="stability edge"):
        lt.stationary_moment_sgd(ops, 1.2 * edge, 2)


def test_sgd_moment_path_equals_monte_carlo(ops):
    """The exact recursion against seeded SGD, with and without replacement (5 SE)."""
    p, B, steps, burn = ops.problem, 5, 400, 100
    eta = 0.5 * lt.sgd_stability_edge(ops, B)
    for scheme, c in (("with_replacement", 1.0), ("without_replacement", N.finite_population_factor(p.n, B))):
        exact = torch.tensor([lt.excess_loss(ops, M) for M in lt.sgd_moment_path(ops, [eta] * steps, B, c)])
        target = float(exact[burn:].mean())                # expectation of the time average below
        tr = sgd.run(p, ops.theta, eta, B, steps, sampling=scheme, chains=2000, seed=7, record_loss=False)
        dth = tr.theta[burn:] - ops.theta
        m, se = mean_se(0.5 * torch.einsum("tcd,de,tce->tc", dth, ops.H, dth).mean(0))
        assert_within_se(m, target, se, what=f"SGD time-averaged excess loss, {scheme}")
    # and the path converges to the stationary solve
    Ms = lt.sgd_moment_path(ops, [eta] * 3000, B)
    assert torch.allclose(Ms[-1], lt.stationary_moment_sgd(ops, eta, B), rtol=1e-9, atol=1e-14)


def test_sde_moment_path_equals_ode_integration(ops):
    """The exact interval-wise solution against RK4 on dM/dt = −A(η(t)) M + (η(t)c/B) Σ̂."""
    B, c = 4, 0.9
    etas = [0.3 / math.sqrt(k + 1) for k in range(12)]
    Ms = lt.sde_moment_path(ops, etas, B, c)
    d, M = ops.d, torch.zeros(ops.d**2, dtype=f64)
    for k, e in enumerate(etas):
        A = ops.Hsum - e * c / B * (ops.K - ops.HH)
        f = lambda M, A=A, e=e: -A @ M + e * c / B * ops.S  # noqa: E731
        h = e / 200
        for _ in range(200):
            k1 = f(M); k2 = f(M + h / 2 * k1); k3 = f(M + h / 2 * k2); k4 = f(M + h * k3)  # noqa: E702
            M = M + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        assert torch.allclose(Ms[k + 1], M.reshape(d, d), rtol=1e-9, atol=1e-14)


def test_input_errors(ops):
    with pytest.raises(TypeError, match="LinearRegression"):
        lt.moment_operators(object())
    with pytest.raises(ValueError, match="lr"):
        lt.stationary_moment_sde(ops, -0.1, 2)
    with pytest.raises(ValueError, match="batch_size"):
        lt.stationary_moment_sgd(ops, 0.1, 0)
    with pytest.raises(ValueError, match="c "):
        lt.stationary_moment_sgd(ops, 0.1, 2, c=1.5)
    with pytest.raises(ValueError, match="shape"):
        lt.excess_loss(ops, torch.zeros(3, 3, dtype=f64))
    with pytest.raises(ValueError, match="m "):
        lt.reshuffle_variance_factor(0.5, 1)


def test_reshuffle_variance_factor_closed_forms():
    for a in (0.0, 0.3, 0.9, 1.0):
        assert math.isclose(lt.reshuffle_variance_factor(a, 2), 1 - a, abs_tol=1e-15)
        assert math.isclose(lt.reshuffle_variance_factor(a, 3), 1 - (2 * a + a**2) / 3, abs_tol=1e-15)
    assert all(abs(lt.reshuffle_variance_factor(1.0, m)) < 1e-12 for m in range(2, 60))


def test_reshuffle_variance_factor_monte_carlo():
    """Stationary variance of δ' = aδ + ξ_k with ξ reshuffled (one index per step) vs R(a, m)·white."""
    m, a, chains, T = 6, 0.7, 4000, 60 * 6
    s = torch.tensor([1.0, -2.0, 0.5, 3.0, -1.5, -1.0], dtype=f64)
    s = s - s.mean()
    gen = torch.Generator().manual_seed(11)
    x, acc, k_keep = torch.zeros(chains, dtype=f64), torch.zeros(chains, dtype=f64), 0
    for ep in range(T // m):
        perm = torch.rand(chains, m, generator=gen).argsort(-1)
        for j in range(m):
            x = a * x + s[perm[:, j]]
            if ep >= 10:
                acc += x**2
                k_keep += 1
    mval, se = mean_se(acc / k_keep)
    white = float(s.pow(2).mean()) / (1 - a**2)
    assert_within_se(mval, white * lt.reshuffle_variance_factor(a, m), se, what="reshuffled AR(1) variance")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_sharpness_linear_regression(dtype):
    p = P.LinearRegression(*P.gaussian_regression(40, 5, seed=1, dtype=dtype))
    lam, v = N.sharpness(p, p.theta0, iters=300)
    ev, V = torch.linalg.eigh(p.hessian(p.theta0))
    tol = 1e-8 if dtype == torch.float64 else 1e-4
    assert abs(lam - float(ev[-1])) < tol * float(ev[-1])
    assert v.dtype == dtype and abs(abs(float(v @ V[:, -1])) - 1) < 10 * tol


def test_sharpness_torch_model_and_warm_start():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    X, y = P.gaussian_regression(30, 3, seed=2)
    p = P.TorchModel(model, lambda out, t: 0.5 * ((out - t) ** 2).sum(), X, y.unsqueeze(-1))
    ev = torch.linalg.eigvalsh(p.hessian(p.theta0))
    assert ev[-1] > abs(ev[0])                       # the top eigenvalue dominates in magnitude here
    lam, v = N.sharpness(p, p.theta0, iters=200)
    assert abs(lam - float(ev[-1])) < 1e-6 * float(ev[-1])
    lam2, _ = N.sharpness(p, p.theta0, iters=1, v0=v)  # warm start: already converged
    assert abs(lam2 - lam) < 1e-8 * abs(lam)
    with pytest.raises(ValueError, match="iters"):
        N.sharpness(p, p.theta0, iters=0)
    with pytest.raises(ValueError, match="v0"):
        N.sharpness(p, p.theta0, v0=torch.zeros(2, dtype=f64))


# --- discrete_lyapunov --------------------------------------------------------------------------


def test_discrete_lyapunov_fixed_point_and_errors():
    g = torch.Generator().manual_seed(3)
    A = 0.3 * torch.randn(3, 3, generator=g, dtype=torch.float64)
    L = torch.randn(3, 3, generator=g, dtype=torch.float64)
    Q = L @ L.T
    S = lt.discrete_lyapunov(A, Q)
    res = S - A @ S @ A.T - Q
    assert float(res.abs().max()) < 1e3 * torch.finfo(torch.float64).eps * float(S.abs().max())
    assert torch.allclose(S, S.T) and bool((torch.linalg.eigvalsh(S) > 0).all())
    with pytest.raises(ValueError, match="spectral radius"):
        lt.discrete_lyapunov(2 * torch.eye(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="share shape"):
        lt.discrete_lyapunov(0.5 * torch.eye(2, dtype=torch.float64), torch.eye(3, dtype=torch.float64))


# -- a start away from θ̂: the mean enters the second moment through Kc ---------------------------
def _enumerated_step(p, theta0, eta, batches):
    """E[(θ_1 − θ̂)(θ_1 − θ̂)ᵀ] over an explicit list of equally likely batches (exact)."""
    th_hat = p.minimizer()
    th1 = theta0 - eta * p.batch_grad(theta0.expand(len(batches), -1), torch.tensor(batches))
    dl = th1 - th_hat
    return dl.T @ dl / len(batches)


@pytest.mark.parametrize("scheme", ["with", "without"])
def test_sgd_moment_path_from_a_deterministic_start_equals_enumeration(scheme):
    import itertools

    X, y = P.gaussian_regression(7, 2, seed=3)
    p = P.LinearRegression(X, y)
    o = lt.moment_operators(p)
    theta0 = torch.tensor([1.5, -2.0], dtype=f64)
    m0 = theta0 - o.theta
    B, eta = 2, 0.3
    if scheme == "with":
        batches, c = [list(b) for b in itertools.product(range(p.n), repeat=B)], 1.0
    else:
        batches = [list(b) for b in itertools.permutations(range(p.n), B)]
        c = N.finite_population_factor(p.n, B)
    exact = _enumerated_step(p, theta0, eta, batches)
    M1 = lt.sgd_moment_path(o, [eta], B, c, M0=torch.outer(m0, m0), m0=m0)[1]
    assert torch.allclose(M1, exact, rtol=1e-12, atol=1e-12 * float(exact.abs().max()))
    # the cross term is what the old recursion (mean ignored) missed
    Kc_part = eta**2 * c / B * (o.Kc @ m0).reshape(2, 2)
    assert float(Kc_part.abs().max()) > 1e-3 * float(exact.abs().max())


def test_expected_noise_covariance_is_affine_in_the_moments():
    """Σ_emp(θ̂ + δ) = Σ̂ + (K − H⊗H) vec δδᵀ + Kc δ at any point (the SDE generator's input)."""
    X, y = P.gaussian_regression(9, 3, seed=4)
    p = P.LinearRegression(X, y)
    o = lt.moment_operators(p)
    dl = torch.tensor([0.7, -1.1, 0.4], dtype=f64)
    pred = o.S + (o.K - o.HH) @ torch.outer(dl, dl).reshape(-1) + o.Kc @ dl
    got = N.empirical_covariance(p, o.theta + dl).reshape(-1)
    assert torch.allclose(pred, got, rtol=1e-12, atol=1e-12 * float(got.abs().max()))


def test_sde_moment_path_with_a_mean_equals_fine_euler_maruyama_moments():
    """Exact EM moment recursion at dt = η/2000 converges to the augmented exponential."""
    X, y = P.gaussian_regression(9, 2, seed=5)
    p = P.LinearRegression(X, y)
    o = lt.moment_operators(p)
    m0 = torch.tensor([1.0, -0.5], dtype=f64)
    M0 = torch.outer(m0, m0) + 0.1 * torch.eye(2, dtype=f64)
    eta, B, c, sub = 0.2, 3, 0.8, 2000
    exact = lt.sde_moment_path(o, [eta], B, c, M0=M0, m0=m0)[1]
    dt, w = eta / sub, eta * c / B
    I4 = torch.eye(4, dtype=f64)
    M, m = M0.reshape(-1), m0.clone()
    for _ in range(sub):
        M = (I4 - dt * o.Hsum + dt**2 * o.HH) @ M + dt * w * (o.S + (o.K - o.HH) @ M + o.Kc @ m)
        m = m - dt * o.H @ m
    assert torch.allclose(M.reshape(2, 2), exact, rtol=2e-3)


def test_moment_paths_need_the_mean_with_the_second_moment():
    o = lt.moment_operators(P.LinearRegression(*P.gaussian_regression(9, 2, seed=1)))
    for path in (lt.sgd_moment_path, lt.sde_moment_path):
        with pytest.raises(ValueError, match="m0"):
            path(o, [0.1], 2, M0=torch.eye(2, dtype=f64))


# --- augmented moment maps: z = (1, E θ, vec E θθᵀ) ---------------------------------------------


def _tol(ref):
    return dict(rtol=1e-12, atol=1e-12 * float(ref.abs().max()))


@pytest.mark.parametrize("B", [1, 2])
def test_augmented_step_matrix_equals_enumeration_and_sgd_moment_path(B):
    import itertools

    p = P.LinearRegression(*P.gaussian_regression(7, 2, seed=3))
    o = lt.moment_operators(p)
    theta0, eta = torch.tensor([1.5, -2.0], dtype=f64), 0.3
    z1 = lt.augmented_step_matrix(p, eta, eta**2 / B) @ lt.augmented_state(theta0)
    mean, cov = lt.moments_of(z1)
    # exact enumeration of all ordered batches drawn with replacement
    batches = torch.tensor(list(itertools.product(range(p.n), repeat=B)))
    th1 = theta0 - eta * p.batch_grad(theta0.expand(len(batches), -1), batches)
    assert torch.allclose(mean, th1.mean(0), **_tol(th1))
    assert torch.allclose(cov, th1.T.cov(correction=0), **_tol(cov))
    # the δ = θ − θ̂ recursion of sgd_moment_path (which includes the mean's cross term)
    m0 = theta0 - o.theta
    M1 = lt.sgd_moment_path(o, [eta], B, M0=torch.outer(m0, m0), m0=m0)[1]
    m1 = m0 - eta * o.H @ m0
    assert torch.allclose(mean - o.theta, m1, **_tol(m1))
    assert torch.allclose(cov, M1 - torch.outer(m1, m1), **_tol(M1))


def test_augmented_step_matrix_is_one_euler_maruyama_step_with_a_modified_drift():
    p = P.LinearRegression(*P.gaussian_regression(9, 3, seed=6))
    a = lt.augmented_operators(p)
    th, dt, eta = torch.tensor([0.2, -0.4, 1.0], dtype=f64), 0.01, 0.25
    Hm = torch.eye(3, dtype=f64) + eta / 2 * a.H
    z1 = lt.augmented_step_matrix(a, dt, dt * eta / 4, H=Hm @ a.H, b=Hm @ a.b) @ lt.augmented_state(th)
    mean, cov = lt.moments_of(z1)
    want_mean = th - dt * Hm @ p.grad(th)
    want_cov = dt * eta / 4 * N.empirical_covariance(p, th)
    assert torch.allclose(mean, want_mean, **_tol(want_mean))
    assert torch.allclose(cov, want_cov, rtol=1e-9, atol=1e-12 * float(mean.abs().max()) ** 2)


@pytest.mark.parametrize("steps", [1, 5])
def test_augmented_generator_exponential_equals_sde_moment_path(steps):
    p = P.LinearRegression(*P.gaussian_regression(9, 2, seed=5))
    o, a = lt.moment_operators(p), lt.augmented_operators(p)
    theta0 = torch.tensor([1.0, -0.5], dtype=f64)
    eta, B = 0.2, 3
    z = torch.linalg.matrix_exp(steps * eta * lt.augmented_generator(a, eta / B)) @ lt.augmented_state(
        theta0
    )
    mean, cov = lt.moments_of(z)
    m0 = theta0 - o.theta
    M = lt.sde_moment_path(o, [eta] * steps, B, M0=torch.outer(m0, m0), m0=m0)[-1]
    m = torch.linalg.matrix_exp(-steps * eta * o.H) @ m0
    assert torch.allclose(mean - o.theta, m, rtol=1e-10, atol=1e-12)
    assert torch.allclose(cov, M - torch.outer(m, m), rtol=1e-9, atol=1e-12 * float(M.abs().max()))
    # noise_coef = 0 is gradient flow: a point stays a point
    z_gf = torch.linalg.matrix_exp(eta * lt.augmented_generator(a, 0.0)) @ lt.augmented_state(theta0)
    assert float(lt.moments_of(z_gf)[1].abs().max()) < 1e-12 * float(z_gf.abs().max())


def test_noise_moment_operator_gives_the_empirical_covariance():
    p = P.LinearRegression(*P.gaussian_regression(11, 3, seed=7))
    E = lt.noise_moment_operator(p)
    g = torch.Generator().manual_seed(8)
    pts = 2 * torch.randn(5, 3, generator=g, dtype=f64)
    Sig = N.empirical_covariance(p, pts)  # (5, 3, 3)
    zs = torch.stack([lt.augmented_state(t) for t in pts])
    for k in range(5):
        assert torch.allclose((E @ zs[k]).reshape(3, 3), Sig[k], **_tol(Sig[k]))
    # linear in z: the uniform law on the 5 points has E Σ = the average of the Σ's
    assert torch.allclose((E @ zs.mean(0)).reshape(3, 3), Sig.mean(0), **_tol(Sig))


def test_moments_of_batches_and_bad_input():
    import numpy as np

    g = torch.Generator().manual_seed(9)
    pts = torch.randn(4, 2, generator=g, dtype=f64)
    zs = torch.stack([lt.augmented_state(t) for t in pts])
    mean, cov = lt.moments_of(zs)
    assert mean.shape == (4, 2) and float(cov.abs().max()) < 1e-14
    mean_np, cov_np = lt.moments_of(zs.numpy())
    assert isinstance(mean_np, np.ndarray) and np.allclose(mean_np, pts.numpy())
    with pytest.raises(ValueError, match="1 \\+ d \\+ d²"):
        lt.moments_of(torch.zeros(6, dtype=f64))
    with pytest.raises(TypeError, match="z must be"):
        lt.moments_of([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="theta"):
        lt.augmented_state(torch.zeros(2, 2, dtype=f64))


def test_augmented_maps_reject_bad_input():
    p = P.LinearRegression(*P.gaussian_regression(6, 2, seed=1))
    with pytest.raises(TypeError, match="ops must be"):
        lt.augmented_step_matrix("p", 0.1, 0.0)
    with pytest.raises(TypeError, match="problem must be"):
        lt.noise_moment_operator(object())
    with pytest.raises(ValueError, match="h must be"):
        lt.augmented_step_matrix(p, 0.0, 0.1)
    with pytest.raises(ValueError, match="noise_coef must be"):
        lt.augmented_generator(p, -1.0)
    with pytest.raises(ValueError, match="H must have shape"):
        lt.augmented_generator(p, 0.1, H=torch.eye(3, dtype=f64))
