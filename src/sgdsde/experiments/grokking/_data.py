"""Modular-addition data: the p² pairs (a, b) and labels (a + b) mod p, Nanda et al.'s split."""

from __future__ import annotations

import random

import torch

__all__ = ["modular_addition_data"]


def modular_addition_data(
    p: int, frac_train: float, *, seed: int = 0, with_equals: bool = False, device=None
):
    """The p² pairs (a, b) with labels (a + b) mod p, split as in Nanda et al.'s code.

    The pairs are listed a-major, shuffled by Python's ``random.seed(seed); random.shuffle`` and the
    first ⌊frac_train·p²⌋ form the training set (this reproduces the authors' split for
    ``seed=0``).

    Parameters
    ----------
    p : int ≥ 2
    frac_train : float in (0, 1)
    seed : int
    with_equals : bool; if True the inputs are the token triples (a, b, p) ("=" is token p)
    device : of the returned tensors

    Returns
    -------
    x_train, y_train, x_test, y_test : LongTensors; x ``(N, 2)`` or ``(N, 3)``, y ``(N,)``

    Examples
    --------
    >>> xtr, ytr, xte, yte = modular_addition_data(7, 0.5)
    >>> xtr.shape, xte.shape, bool(((xtr[:, 0] + xtr[:, 1]) % 7 == ytr).all())
    (torch.Size([24, 2]), torch.Size([25, 2]), True)
    """
    if isinstance(p, bool) or not isinstance(p, int) or p < 2:
        raise ValueError(f"p must be an int >= 2; got {p!r}")
    if not (isinstance(frac_train, (int, float)) and 0 < frac_train < 1):
        raise ValueError(f"frac_train must be in (0, 1); got {frac_train!r}")
    pairs = [(i, j, p) for i in range(p) for j in range(p)]
    random.Random(seed).shuffle(
        pairs
    )  # = random.seed(seed); random.shuffle(pairs), without global state
    div = int(frac_train * len(pairs))
    if div < 1 or div >= len(pairs):
        raise ValueError(f"frac_train={frac_train} leaves an empty train or test set for p={p}")
    t = torch.tensor(pairs, dtype=torch.long)
    x = t if with_equals else t[:, :2]
    y = (t[:, 0] + t[:, 1]) % p
    return x[:div].to(device), y[:div].to(device), x[div:].to(device), y[div:].to(device)
