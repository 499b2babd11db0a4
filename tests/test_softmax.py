"""softmax and log_softmax: every backend x dtype x axis against the reference
and gradcheck, both kernel layouts (rows / columns), the online path for long
rows, every ISA, determinism, stability and bad input."""

import numpy as np
import pytest

import fastdl as fd
from fastdl import _cpu
from helpers import at_threads, check_op, ISAS

OPS = ["softmax", "log_softmax"]

# (shape, axis): rows (inner == 1) and columns (inner > 1), tails, empty
CASES = [
    ((1, 1), -1),
    ((4, 10), -1),
    ((4, 10), 0),            # columns
    ((3, 37), 1),            # a row with a tail
    ((2, 3, 4), 0),
    ((2, 3, 4), 1),
    ((2, 3, 4), 2),
    ((2, 3, 4), -2),
    ((2, 5, 130), 1),        # inner past one 64-column strip, with a tail
    ((7,), 0),               # 1-D
    ((0, 5), -1),            # no rows
    ((5, 0), -1),            # empty axis
    ((3, 0, 2), 1),
    ((64, 1000), -1),        # the benchmark's row length
]


@pytest.mark.parametrize("shape,axis", CASES, ids=str)
@pytest.mark.parametrize("op", OPS)
def test_softmax(op, shape, axis, backend, dtype, rng):
    check_op(op, [shape], {"axis": axis}, backend=backend, dtype=dtype, rng=rng,
             gradcheck=np.prod(shape) <= 400)


def test_default_axis(backend, dtype, rng):
    check_op("softmax", [(6, 9)], backend=backend, dtype=dtype, rng=rng)
    check_op("log_softmax", [(6, 9)], backend=backend, dtype=dtype, rng=rng)


@pytest.mark.parametrize("op", OPS)
def test_long_rows_online_path(op, backend, dtype, rng):
    # rows longer than kSoftmaxOnlineMin (65536) take the blocked online pass;
    # the largest value sits late in the row so the running max must rescale
    x = rng.standard_normal((2, 70_001)).astype(dtype)
    x[0, 69_000] = 6.0
    x[1, :600] *= 50
    check_op(op, [x], backend=backend, dtype=dtype, rng=rng, gradcheck=False)


def test_long_rows_leading_minus_inf(backend, dtype, rng):
    # a first online block of -inf alone (masked positions) must not poison the sum
    x = rng.standard_normal((1, 70_001)).astype(dtype)
    x[0, :600] = -np.inf
    with fd.use_backend(backend):
        y, ly = fd.softmax(x), fd.log_softmax(x)
    ref = fd.reference.softmax_forward(x[:, 600:].astype(np.float64))[0]
    np.testing.assert_array_equal(y[0, :600], 0)
    np.testing.assert_array_equal(ly[0, :600], -np.inf)
    np.testing.assert_allclose(y[:, 600:], ref, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=0)
    np.testing.assert_allclose(ly[:, 600:], np.log(ref), rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("layout", ["fortran", "transposed", "strided"])
@pytest.mark.parametrize("op", OPS)
def test_layouts(op, layout, backend, dtype, rng):
    f = {"fortran": np.asfortranarray, "transposed": lambda x: np.ascontiguousarray(x.T).T,
         "strided": lambda x: np.repeat(x, 2, axis=1)[:, ::2]}[layout]
    check_op(op, [(6, 11)], {"axis": 1}, backend=backend, dtype=dtype, rng=rng, layouts={0: f}, gradcheck=False)





@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("op", OPS)
def test_every_isa(op, isa, dtype, rng):
    for shape, axis in [((5, 37), -1), ((3, 6, 21), 1), ((2, 70_001), -1)]:
        check_op(op, [shape], {"axis": axis}, backend="cpu", dtype=dtype, rng=rng,
                 gradcheck=dtype == np.float64 and np.prod(shape) < 1000)


@pytest.mark.parametrize("shape,axis", [((300, 1000), -1), ((8, 300, 70), 1), ((3, 100_000), -1)], ids=str)
@pytest.mark.parametrize("op", OPS)
def test_thread_count_does_not_change_bits(op, shape, axis, backend, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        with at_threads(threads):
            with fd.use_backend(backend):
                y, cache = getattr(fd, op + "_forward")(x, axis=axis)
                results.append((y, getattr(fd, op + "_backward")(g, cache)[0]))
    for y, dx in results[1:]:
        np.testing.assert_array_equal(y, results[0][0])
        np.testing.assert_array_equal(dx, results[0][1])


@pytest.mark.parametrize("axis", [0, 1])
def test_stability_and_special_values(axis, backend, dtype):
    x = np.array([[1000.0, 0.0, -np.inf], [1.0, 1.0, 1.0], [np.nan, 0.0, 1.0], [-np.inf, -np.inf, -np.inf]], dtype)
    x = x if axis == 1 else np.ascontiguousarray(x.T)
    with fd.use_backend(backend):
        y = fd.softmax(x, axis=axis)
        ly = fd.log_softmax(x, axis=axis)
    y = y if axis == 1 else y.T
    ly = ly if axis == 1 else ly.T
    np.testing.assert_array_equal(y[0], [1.0, 0.0, 0.0])       # huge values do not overflow; -inf -> 0
    np.testing.assert_array_equal(ly[0], [0.0, -1000.0, -np.inf])
    np.testing.assert_allclose(y[1], 1 / 3, rtol=1e-6)
    assert np.isnan(y[2]).all() and np.isnan(ly[2]).all()     # a NaN poisons its row, as in torch
    assert np.isnan(y[3]).all()                                 # all -inf: 0/0, as in torch


def test_bad_input():
    f = np.float32
    with pytest.raises(ValueError, match="softmax: axis 2 is out of range for x with 2 dims"):
        fd.softmax(np.ones((2, 3), f), axis=2)
    with pytest.raises(ValueError, match="log_softmax: axis -3 is out of range"):
        fd.log_softmax(np.ones((2, 3), f), axis=-3)
    with pytest.raises(TypeError, match="axis must be an int"):
        fd.softmax(np.ones((2, 3), f), axis=1.0)
    with pytest.raises(ValueError, match="at least 1 dim"):
        fd.softmax(np.float32(3.0))
    with pytest.raises(TypeError, match="x: expected a float32 or float64 array"):
        fd.softmax(np.ones(3, np.int32))
    y, cache = fd.softmax_forward(np.ones((2, 3), f))
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 3\)"):
        fd.softmax_backward(np.ones((3, 2), f), cache)
    with pytest.raises(ValueError, match="dims"):
        _cpu.softmax_fwd(np.empty((2, 3), f), np.ones((2, 3), f), False)
    with pytest.raises(ValueError, match="shape differs"):
        _cpu.softmax_fwd(np.empty((1, 2, 4), f), np.ones((1, 2, 3), f), False)


def test_cache_holds_only_the_output(rng):
    x = rng.standard_normal((8, 9)).astype(np.float32)
    y, cache = fd.log_softmax_forward(x)
    assert cache.nbytes == y.nbytes


@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("op", OPS)
def test_out_buffer_and_in_place(op, axis, backend, dtype, rng):
    x = rng.standard_normal((9, 70)).astype(dtype)
    with fd.use_backend(backend):
        want = getattr(fd, op)(x, axis=axis)
        out = np.full_like(x, np.nan)
        assert getattr(fd, op)(x, axis=axis, out=out) is out
        x2 = x.copy()
        assert getattr(fd, op)(x2, axis=axis, out=x2) is x2
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(x2, want)
    with pytest.raises(ValueError, match=r"out: expected shape \(9, 70\)"):
        getattr(fd, op)(x, out=np.empty((70, 9), dtype))


# Outputs of at least 8 MiB (kStreamMinBytes, csrc/cpu/stream.h) are written
# with streaming stores; odd row lengths start rows at every alignment
# (unaligned heads, partial tails). Rows are independent, so the first rows
# of the big call must equal, bit for bit, a small call (normal stores), and
# neither may depend on the thread count.
STREAM_MIN_BYTES = 8 << 20


@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("c", [1003, 4099, 70_001])  # exps buffered / computed again / online pass
@pytest.mark.parametrize("op", OPS)
def test_streaming_stores(op, c, isa, dtype, rng):
    rows = STREAM_MIN_BYTES // (c * np.dtype(dtype).itemsize) + 3
    x = rng.standard_normal((rows, c)).astype(dtype)
    g = rng.standard_normal((rows, c)).astype(dtype)
    if isa == ISAS[-1]:
        check_op(op, [x], backend="cpu", dtype=dtype, rng=rng, gradcheck=False)
    fwd, bwd = getattr(fd, op + "_forward"), getattr(fd, op + "_backward")
    outs = []
    for threads in (1, 2):
        with at_threads(threads), fd.use_backend("cpu"):
            y, cache = fwd(x)
            outs.append((y, bwd(g, cache)[0]))
            ys, cs = fwd(x[:5])
            dxs = bwd(g[:5], cs)[0]
        np.testing.assert_array_equal(y[:5], ys)
        np.testing.assert_array_equal(outs[-1][1][:5], dxs)
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
