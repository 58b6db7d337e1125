"""The recycled output of ``TorchModel.per_sample_grads``: a held result is never overwritten."""
import copy
import threading

import pytest
import torch
from torch import nn

from sgdsde import _reuse
from sgdsde import problems as P


@pytest.fixture
def mlp():
    # n·d·4 bytes = 512·676·4 ≈ 1.4 MB float32: above the size where the buffer is kept
    g = torch.Generator().manual_seed(0)
    X = torch.randn(512, 16, generator=g)
    y = torch.randint(0, 4, (512,), generator=g)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 4))
    p = P.TorchModel(model, nn.functional.cross_entropy, X, y)
    ref = P.TorchModel(model, nn.functional.cross_entropy, X, y, fast_linear=False)
    assert p.fast_linear and p.n * p.d * 4 >= _reuse.MIN_BYTES
    return p, ref


def _thetas(p, k):
    g = torch.Generator().manual_seed(1)
    return [p.theta0 + 0.1 * torch.randn(p.d, generator=g) for _ in range(k)]


def test_dropped_result_is_recycled_held_result_is_not(mlp):
    p, ref = mlp
    t1, t2, t3 = _thetas(p, 3)
    G1 = p.per_sample_grads(t1)
    ptr = G1.data_ptr()
    G2 = p.per_sample_grads(t2)  # G1 is held: fresh memory
    assert G2.data_ptr() != ptr
    torch.testing.assert_close(G1, ref.per_sample_grads(t1))
    torch.testing.assert_close(G2, ref.per_sample_grads(t2))
    ptr2 = G2.data_ptr()
    del G1, G2
    G3 = p.per_sample_grads(t3)  # nothing holds the last result: its memory comes back
    assert G3.data_ptr() == ptr2
    torch.testing.assert_close(G3, ref.per_sample_grads(t3))


@pytest.mark.parametrize("keep", ["slice", "numpy", "storage", "reshaped", "autograd"])
def test_anything_sharing_the_memory_blocks_reuse(mlp, keep):
    p, ref = mlp
    t1, t2 = _thetas(p, 2)
    G = p.per_sample_grads(t1)
    expect = G[3].clone()
    w = torch.ones(p.d, requires_grad=True)
    kept = {"slice": lambda: G[3],
            "numpy": lambda: G.numpy()[3],
            "storage": lambda: (G.untyped_storage(), G.shape),
            "reshaped": lambda: G.reshape(-1)[3 * p.d:4 * p.d],
            "autograd": lambda: (G[3] * w).sum()}[keep]()
    del G
    p.per_sample_grads(t2)
    if keep == "storage":
        st, shape = kept
        row = torch.empty(0).set_(st).view(shape)[3]
    elif keep == "autograd":  # the graph saved G[3] for the gradient with respect to w
        kept.backward()
        row = w.grad
    else:
        row = torch.as_tensor(kept)
    torch.testing.assert_close(row, expect)


def test_clear_cache_and_other_shapes(mlp):
    p, ref = mlp
    t1, t2 = _thetas(p, 2)
    G = p.per_sample_grads(t1)
    del G
    p.clear_cache()
    assert p._out._buf is None
    torch.testing.assert_close(p.per_sample_grads(t1), ref.per_sample_grads(t1))
    chains = torch.stack([t1, t2])  # (2, n, d): a different size, a fresh buffer
    G2 = p.per_sample_grads(chains)
    torch.testing.assert_close(G2, ref.per_sample_grads(chains))
    assert p._out._buf.numel() == G2.numel()


def test_inference_mode_gives_the_same_numbers(mlp):
    p, ref = mlp
    t1, t2 = _thetas(p, 2)
    with torch.inference_mode():  # the fast path steps aside there: its backward would give zeros
        G = p.per_sample_grads(t1)
        torch.testing.assert_close(G, ref.per_sample_grads(t1))
        torch.testing.assert_close(p.grad(t1), ref.grad(t1))
        del G
    G = p.per_sample_grads(t2)  # writes into the buffer made inside inference mode
    torch.testing.assert_close(G, ref.per_sample_grads(t2))
    del G
    with torch.inference_mode():
        torch.testing.assert_close(p.per_sample_grads(t1), ref.per_sample_grads(t1))


def test_threads_never_share_a_buffer(mlp):
    p, ref = mlp
    thetas = _thetas(p, 8)
    results = [None] * len(thetas)

    def work(i):
        results[i] = p.per_sample_grads(thetas[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(thetas))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({G.data_ptr() for G in results}) == len(results)
    for th, G in zip(thetas, results):
        torch.testing.assert_close(G, ref.per_sample_grads(th))


def test_small_and_non_cpu_outputs_are_plain_allocations():
    buf = _reuse.ReusableBuffer()
    a = buf.empty((4, 4), torch.float32, torch.device("cpu"))
    assert a.shape == (4, 4) and buf._buf is None  # below MIN_BYTES nothing is kept
    b = buf.empty((1024, 512), torch.float64, torch.device("cpu"))
    assert b.dtype == torch.float64 and buf._buf is not None
    if torch.cuda.is_available():
        c = buf.empty((1024, 512), torch.float32, torch.device("cuda"))
        assert c.is_cuda


def test_a_copied_problem_gets_its_own_slot(mlp):
    p, ref = mlp
    t1, t2 = _thetas(p, 2)
    G = p.per_sample_grads(t1)
    ptr = G.data_ptr()
    del G
    q = copy.deepcopy(p)
    assert q._out is not p._out and q._out._buf is None
    Gq = q.per_sample_grads(t2)
    Gp = p.per_sample_grads(t1)  # p's dropped result comes back to p, not to the copy
    assert Gp.data_ptr() == ptr != Gq.data_ptr()
    torch.testing.assert_close(Gq, ref.per_sample_grads(t2))
    torch.testing.assert_close(Gp, ref.per_sample_grads(t1))
