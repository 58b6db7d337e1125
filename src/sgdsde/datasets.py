"""Data makers: synthetic regression, a linear teacher, and scikit-learn's digits.

Data are generated on the CPU with a seeded ``torch.Generator`` and then moved, so a seed gives the
same data set on every device. Integer arguments accept Python and numpy integers.
"""

from __future__ import annotations

import math

import torch

from ._validate import as_int, as_real, check_tensor

__all__ = ["gaussian_regression", "teacher_student", "digits"]


def _gen(seed) -> torch.Generator:
    return torch.Generator().manual_seed(as_int("seed", seed))


def _pos_int(name: str, v) -> int:
    return as_int(name, v, min=1)


def gaussian_regression(
    n: int,
    d: int,
    *,
    theta_star: torch.Tensor | None = None,
    noise_std: float = 1.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device=None,
):
    """Synthetic regression data: x_i ~ N(0, I_d), ``y_i = x_iᵀθ* + noise_std·ε_i``, ε_i ~ N(0, 1).

    Parameters
    ----------
    n, d : int ≥ 1
    theta_star : Tensor ``(d,)``, optional (default ``ones(d)/sqrt(d)``)
    noise_std : float ≥ 0
    seed : int (CPU generator; identical data on every device)
    dtype, device : of the returned tensors

    Returns
    -------
    X : Tensor ``(n, d)``
    y : Tensor ``(n,)``

    Examples
    --------
    >>> X, y = gaussian_regression(4, 2, seed=0)
    >>> X.shape, y.shape, X.dtype
    (torch.Size([4, 2]), torch.Size([4]), torch.float64)
    """
    n, d = _pos_int("n", n), _pos_int("d", d)
    noise_std = as_real("noise_std", noise_std, min=0.0)
    g = _gen(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    eps = torch.randn(n, generator=g, dtype=torch.float64)
    if theta_star is None:
        ts = torch.ones(d, dtype=torch.float64) / math.sqrt(d)
    else:
        ts = check_tensor("theta_star", theta_star).detach().to("cpu", torch.float64)
        if ts.shape != (d,):
            raise ValueError(f"theta_star must have shape (d,) = ({d},); got {tuple(ts.shape)}")
    y = X @ ts + noise_std * eps
    return X.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)


def teacher_student(
    n: int,
    d_in: int,
    d_hidden: int,
    d_out: int,
    *,
    noise_std: float = 0.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device=None,
):
    """Data from a linear teacher of rank ≤ ``d_hidden``: Y = X W₁ᵀW₂ᵀ + noise_std·E.

    x_i ~ N(0, I_{d_in}); teacher W₁ ``(d_hidden, d_in)`` and W₂ ``(d_out, d_hidden)`` with entries
    N(0, 1/fan_in); E standard normal ``(n, d_out)``. Meant for :class:`DeepLinearNetwork` students.

    Returns
    -------
    X : Tensor ``(n, d_in)``
    Y : Tensor ``(n, d_out)``

    Examples
    --------
    >>> X, Y = teacher_student(10, 4, 2, 3, seed=0)
    >>> X.shape, Y.shape, int(torch.linalg.matrix_rank(Y))
    (torch.Size([10, 4]), torch.Size([10, 3]), 2)
    """
    n, d_in, d_hidden, d_out = (
        _pos_int(k, v)
        for k, v in (("n", n), ("d_in", d_in), ("d_hidden", d_hidden), ("d_out", d_out))
    )
    noise_std = as_real("noise_std", noise_std, min=0.0)
    g = _gen(seed)
    X = torch.randn(n, d_in, generator=g, dtype=torch.float64)
    W1 = torch.randn(d_hidden, d_in, generator=g, dtype=torch.float64) / math.sqrt(d_in)
    W2 = torch.randn(d_out, d_hidden, generator=g, dtype=torch.float64) / math.sqrt(d_hidden)
    Y = X @ W1.T @ W2.T + noise_std * torch.randn(n, d_out, generator=g, dtype=torch.float64)
    return X.to(device=device, dtype=dtype), Y.to(device=device, dtype=dtype)


def digits(*, n: int | None = None, seed: int = 0, dtype: torch.dtype = torch.float64, device=None):
    """scikit-learn's 1797 8×8 digit images, standardised, in a seeded order.

    Features are standardised per pixel (columns with zero variance are centred only); targets are
    the classes 0–9. The images ship with scikit-learn (no download).

    Parameters
    ----------
    n : int, optional; the first ``n`` samples of a seeded permutation (default all 1797)
    seed : int; fixes the permutation
    dtype, device : of the features (targets are int64 on ``device``)

    Returns
    -------
    X : Tensor ``(n, 64)``
    y : LongTensor ``(n,)``

    Examples
    --------
    >>> X, y = digits(n=10, seed=0)
    >>> X.shape, y.dtype, int(y.max()) <= 9
    (torch.Size([10, 64]), torch.int64, True)
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    X = torch.tensor(data.data, dtype=torch.float64)
    y = torch.tensor(data.target, dtype=torch.long)
    if n is not None:
        n = as_int("n", n, min=1, max=X.shape[0])
    mu, sd = X.mean(0), X.std(0)
    X = (X - mu) / torch.where(sd > 0, sd, torch.ones_like(sd))
    perm = torch.randperm(X.shape[0], generator=_gen(seed))
    if n is not None:
        perm = perm[:n]
    return X[perm].to(device=device, dtype=dtype), y[perm].to(device=device)
