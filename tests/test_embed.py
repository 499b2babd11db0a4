"""embedding and positional_encoding: every backend x dtype against the reference,
gradcheck, torch, determinism of the scatter-add, bad input."""

import math

import numpy as np
import pytest

import fastdl as fd
from helpers import at_threads, check_op

# (indices shape, index dtype, V, D)
EMB_CASES = [
    ((5,), np.int64, 10, 4),
    ((3, 4), np.int32, 7, 3),
    ((2, 3, 2), np.uint8, 5, 1),
    ((), np.int16, 6, 5),            # one index: out (D,)
    ((0,), np.int64, 4, 3),          # no indices: dweight all zeros
    ((50,), np.uint64, 3, 8),        # many repeats of few rows
    ((9,), np.int8, 1, 2),           # a single row
]


@pytest.mark.parametrize("shape,idtype,v,d", EMB_CASES, ids=str)
def test_embedding(shape, idtype, v, d, backend, dtype, rng):
    indices = rng.integers(0, v, shape).astype(idtype)
    check_op("embedding", [indices, (v, d)], backend=backend, dtype=dtype, rng=rng)


def test_embedding_layouts(backend, dtype, rng):
    indices = rng.integers(0, 20, (6, 5))
    check_op("embedding", [indices.T, (20, 7)], backend=backend, dtype=dtype, rng=rng,
             layouts={1: lambda w: np.asfortranarray(w)})


def test_embedding_against_torch(backend, rng):
    torch = pytest.importorskip("torch")
    w = rng.standard_normal((30, 6))
    idx = rng.integers(0, 30, (8, 9))
    dout = rng.standard_normal((8, 9, 6))
    tw = torch.from_numpy(w).requires_grad_()
    torch.nn.functional.embedding(torch.from_numpy(idx), tw).backward(torch.from_numpy(dout))
    with fd.use_backend(backend):
        y, cache = fd.embedding_forward(idx, w)
        none, dw = fd.embedding_backward(dout, cache)
    assert none is None
    np.testing.assert_array_equal(y, w[idx])
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_embedding_backward_bit_identical_for_any_thread_count(backend, rng):
    idx = rng.integers(0, 500, 200_000)          # ~400 repeats per row, summed in index order
    dout = rng.standard_normal((idx.size, 16)).astype(np.float32)
    w = np.zeros((500, 16), np.float32)
    out = []
    for threads in (1, 2):
        with at_threads(threads):
            with fd.use_backend(backend):
                _, cache = fd.embedding_forward(idx, w)
                out.append(fd.embedding_backward(dout, cache)[1])
    np.testing.assert_array_equal(out[0], out[1])
    # in index order: the same as a sequential float32 accumulation
    ref = np.zeros((500, 16), np.float32)
    for i, r in enumerate(idx[:2000]):
        ref[r] += dout[i]
    with fd.use_backend(backend):
        _, cache = fd.embedding_forward(idx[:2000], w)
        np.testing.assert_array_equal(fd.embedding_backward(dout[:2000], cache)[1], ref)


def test_embedding_bad_input():
    w = np.ones((5, 3), np.float32)
    for bad, lo, hi in ((np.array([0, 5]), 0, 5), (np.array([-1, 2]), -1, 2),
                        (np.array([2**63 + 1], np.uint64), 2**63 + 1, 2**63 + 1)):
        with pytest.raises(ValueError, match=rf"indices must be in \[0, 5\) \(weight has 5 rows\), got values from {lo} to {hi}"):
            fd.embedding(bad, w)
    with pytest.raises(TypeError, match="indices must be an integer array, got float64"):
        fd.embedding(np.array([1.0]), w)
    with pytest.raises(TypeError, match="indices must be an integer array, got bool"):
        fd.embedding(np.array([True]), w)
    with pytest.raises(ValueError, match=r"weight: expected 2 dims \(num_embeddings, embedding_dim\), got shape \(5,\)"):
        fd.embedding(np.array([1]), np.ones(5, np.float32))
    with pytest.raises(TypeError, match="weight: expected a float32 or float64 array"):
        fd.embedding(np.array([1]), np.ones((5, 3), np.int32))
    y, cache = fd.embedding_forward(np.array([[1, 2]]), w)
    with pytest.raises(ValueError, match=r"dout: expected shape \(1, 2, 3\)"):
        fd.embedding_backward(np.ones((2, 3), np.float32), cache)


def test_embedding_native_checks_indices():
    # The binding's own range check: a direct _cpu call never reads out of bounds.
    from fastdl import _cpu
    w = np.ones((5, 3), np.float32)
    with pytest.raises(ValueError, match="index out of range"):
        _cpu.embedding_fwd(np.empty((1, 3), np.float32), w, np.array([7], np.int64))
    with pytest.raises(TypeError, match="int64"):
        _cpu.embedding_fwd(np.empty((1, 3), np.float32), w, np.array([1], np.int32))


# ---------------------------------------------------------------------------
# positional_encoding


@pytest.mark.parametrize("length,d_model", [(1, 1), (50, 16), (7, 9), (0, 4), (300, 2)], ids=str)
def test_positional_encoding(length, d_model, backend, dtype, rng):
    check_op("positional_encoding", [], {"length": length, "d_model": d_model, "dtype": dtype},
             backend=backend, dtype=dtype, rng=rng)


def test_positional_encoding_formula(backend):
    with fd.use_backend(backend):
        pe = fd.positional_encoding(100, 6, np.float64)
        assert fd.positional_encoding(3, 4).dtype == np.float32  # the default dtype
    for pos, i in [(0, 0), (1, 0), (17, 1), (99, 2)]:
        w = 1 / 10000 ** (2 * i / 6)
        assert pe[pos, 2 * i] == pytest.approx(math.sin(pos * w), abs=1e-14)
        assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(pos * w), abs=1e-14)


def test_positional_encoding_bad_input():
    with pytest.raises(ValueError, match="must be >= 0"):
        fd.positional_encoding(-1, 4)
    with pytest.raises(TypeError, match="length and d_model must be ints"):
        fd.positional_encoding(3.5, 4)
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got int32"):
        fd.positional_encoding(3, 4, np.int32)
