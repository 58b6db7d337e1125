"""Engine checks of ``sgdsde.sgd`` moved out of the §1.1–1.7 chapter (``02_setup``).

A full-batch run is gradient descent, step for step, with the recorded step counter; the
learning-rate schedules are the formulas they name.
"""

import math

import torch

from sgdsde import problems as P
from sgdsde import sgd
from sgdsde.book import assert_close

DT = torch.float64


def test_full_batch_run_is_gradient_descent_with_its_step_counter():
    X, y = P.gaussian_regression(6, 2, noise_std=0.5, seed=0)
    lin = P.LinearRegression(X, y)
    theta = torch.tensor([0.8, -0.4], dtype=DT)
    eta, K = 0.1, 25
    tr = sgd.run(lin, theta, eta, None, K, seed=0)  # batch_size=None: full batch
    th_gd = theta.clone()
    for _ in range(K):
        th_gd = th_gd - eta * lin.grad(th_gd)
    assert_close(tr.final[0], th_gd)
    assert tr.step.tolist() == list(range(K + 1))


def test_schedules_are_their_formulas():
    sched = sgd.inverse_sqrt(0.2)
    assert_close([sched(k) for k in range(1000)], [0.2 / math.sqrt(k + 1) for k in range(1000)], ulps=8)
    assert sched(10**8) < 3e-5
    assert all(sgd.constant(0.2)(k) == 0.2 for k in range(10))
