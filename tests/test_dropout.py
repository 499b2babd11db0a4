"""dropout and its Philox4x32-10 generator: known answers, the same mask on every
backend and thread count, statistics, seed handling, bad input."""

import numpy as np
import pytest

import fastdl as fd
from fastdl import _cpu, _dispatch, reference
from helpers import at_threads, check_op

# Random123's kat_vectors for philox4x32_10: (counter, key, expected output)
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("ctr,key,expected", KAT)
def test_philox_known_answers(ctr, key, expected):
    assert tuple(_cpu.philox4x32_10(list(ctr), list(key))) == expected
    assert tuple(int(w[0]) for w in reference.philox4x32_10(*([c] for c in ctr), *key)) == expected


def test_philox_stream_layout():
    # word i of a stream = word i % 4 of block i // 4, counter (lo, hi, 0, 0), key (lo, hi) of the seed
    seed = 0x0123456789ABCDEF
    first = 2**33 - 6  # blocks straddling a carry into the counter's high word
    words = _cpu.philox_words(seed, first, 16)
    for j, w in enumerate(words):
        i = first + j
        b = i // 4
        block = _cpu.philox4x32_10([b & 0xFFFFFFFF, b >> 32, 0, 0], [seed & 0xFFFFFFFF, seed >> 32])
        assert w == block[i % 4]


SHAPES = [(1,), (7,), (4, 5), (3, 4, 5, 6), (1000,), (0, 3)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("p", [0.0, 0.3, 0.9])
def test_dropout(shape, p, backend, dtype, rng):
    seed = int(rng.integers(2**63)) * 2 + 1
    # p, training and seed go positionally: gradcheck has its own `seed` keyword
    check_op("dropout", [shape, p, True, seed], {}, backend=backend, dtype=dtype, rng=rng,
             gradcheck=np.prod(shape) < 500)


def test_dropout_eval_and_layouts(backend, dtype, rng):
    check_op("dropout", [(5, 6)], {"p": 0.5, "training": False}, backend=backend, dtype=dtype, rng=rng)
    check_op("dropout", [(5, 6), 0.5, True, 7], {}, backend=backend, dtype=dtype, rng=rng,
             layouts={0: lambda x: np.asfortranarray(x)})


def test_same_mask_on_every_backend_and_thread_count(rng):
    x = rng.standard_normal((1001, 37)).astype(np.float32) + 10  # no zeros: y == 0 exactly where dropped
    seed = int(rng.integers(2**64, dtype=np.uint64))
    ref, _ = reference.dropout_forward(x, 0.4, seed=seed)
    for backend in [b for b in _dispatch.CPU_BACKENDS if _dispatch.load(b) is not None]:
        for threads in (1, 2):
            with at_threads(threads):
                with fd.use_backend(backend):
                    y = fd.dropout(x, 0.4, seed=seed)
                    y64 = fd.dropout(x.astype(np.float64), 0.4, seed=seed)
                np.testing.assert_array_equal(y, ref, err_msg=f"{backend}, {threads} threads")
                np.testing.assert_array_equal(y64 == 0, ref == 0)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.75])
def test_keep_fraction(p, backend):
    n = 1 << 20
    with fd.use_backend(backend):
        y = fd.dropout(np.ones(n, np.float32), p, seed=12345)
    kept = np.count_nonzero(y)
    sigma = np.sqrt(n * p * (1 - p))
    assert abs(kept - n * (1 - p)) < 6 * sigma
    np.testing.assert_allclose(y[y != 0], np.float32(1 / (1 - p)))
    # neighbouring elements are not correlated (one Philox block feeds 4 of them)
    m = (y != 0).astype(np.float64)
    assert abs(np.corrcoef(m[:-1], m[1:])[0, 1]) < 0.01


def test_seed_none_draws_and_records_a_seed(backend, rng):
    x = rng.standard_normal((64, 64))
    with fd.use_backend(backend):
        y1, c1 = fd.dropout_forward(x, 0.5)
        y2, c2 = fd.dropout_forward(x, 0.5)
        assert c1.params["seed"] != c2.params["seed"] and not np.array_equal(y1, y2)
        assert c1.nbytes == 0  # the mask is regenerated, never stored
        np.testing.assert_array_equal(fd.dropout(x, 0.5, seed=c1.params["seed"]), y1)
        dout = rng.standard_normal(x.shape)
        (dx,) = fd.dropout_backward(dout, c1)
    np.testing.assert_array_equal(dx, dout * (y1 / x))  # y1 / x is the mask times the scale


def test_nan_in_nan_out(backend):
    x = np.full(64, np.nan, np.float32)
    with fd.use_backend(backend):
        assert np.isnan(fd.dropout(x, 0.5, seed=1)).all()  # dropped NaNs too: NaN * 0, as in torch


def test_bad_input():
    x = np.ones(4, np.float32)
    for p in (1.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
            fd.dropout(x, p)
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64\)"):
        fd.dropout(x, 0.5, seed=-1)
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64\)"):
        fd.dropout(x, 0.5, seed=2**64)
    with pytest.raises(TypeError, match="seed must be an int or None, got float"):
        fd.dropout(x, 0.5, seed=1.5)
    with pytest.raises(TypeError, match="x: expected a float32 or float64 array"):
        fd.dropout(np.ones(4, np.int32), 0.5)
    y, cache = fd.dropout_forward(x, 0.5, seed=3)
    with pytest.raises(ValueError, match=r"dout: expected shape \(4,\)"):
        fd.dropout_backward(np.ones(5, np.float32), cache)
    with pytest.raises(TypeError, match="dout: expected dtype float32"):
        fd.dropout_backward(np.ones(4), cache)
