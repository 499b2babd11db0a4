"""act family: every op x backend x dtype against the reference and gradcheck,
plus layouts, every ISA, thread-count determinism, NaN/inf and bad input."""

import numpy as np
import pytest

import fastdl as fd
from fastdl import _cpu
from helpers import at_threads, check_op, ISAS

# (op, params): every activation and each of its modes
ELEMENTWISE = [
    ("sigmoid", {}),
    ("tanh", {}),
    ("relu", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"alpha": 0.2}),
    ("leaky_relu", {"alpha": -0.5}),
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
    ("gelu", {}),
    ("gelu", {"approximate": "tanh"}),
    ("silu", {}),
]
# sizes around the vector widths (4, 8, 16 lanes), the 64-element thread
# block, several dims, empty, and one large enough for two threads
SHAPES = [(1,), (7,), (17,), (3, 5), (2, 3, 4, 5), (0, 4), (129,), (300, 257)]
CASE_IDS = [f"{op}{'-' + '-'.join(f'{k}={v}' for k, v in p.items()) if p else ''}" for op, p in ELEMENTWISE]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("op,params", ELEMENTWISE, ids=CASE_IDS)
def test_elementwise(op, params, shape, backend, dtype, rng):
    check_op(op, [shape], params, backend=backend, dtype=dtype, rng=rng, gradcheck=np.prod(shape) <= 200)


def test_each_op_by_name(backend, dtype, rng):
    # one plain line per op, so every table row is visibly tested
    check_op("sigmoid", [(6, 5)], backend=backend, dtype=dtype, rng=rng)
    check_op("tanh", [(6, 5)], backend=backend, dtype=dtype, rng=rng)
    check_op("relu", [(6, 5)], backend=backend, dtype=dtype, rng=rng)
    check_op("leaky_relu", [(6, 5)], {"alpha": 0.1}, backend=backend, dtype=dtype, rng=rng)
    check_op("elu", [(6, 5)], {"alpha": 1.5}, backend=backend, dtype=dtype, rng=rng)
    check_op("gelu", [(6, 5)], backend=backend, dtype=dtype, rng=rng)
    check_op("silu", [(6, 5)], backend=backend, dtype=dtype, rng=rng)


def test_wide_range_inputs(backend, dtype, rng):
    # values far into the saturated / exponential regions of every op
    # (the references' exp may overflow to inf there, which gives the right limits)
    x = (rng.standard_normal((40, 50)) * 30).astype(dtype)
    with np.errstate(over="ignore"):
        for op, params in ELEMENTWISE:
            check_op(op, [x], params, backend=backend, dtype=dtype, rng=rng, gradcheck=False)


LAYOUTS = {
    "transposed": {0: lambda x: np.ascontiguousarray(x.T).T},
    "strided": {0: lambda x: np.repeat(x, 2, axis=1)[:, ::2]},
    "negative strides": {0: lambda x: x[::-1].copy()[::-1]},
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("op,params", ELEMENTWISE[:4] + ELEMENTWISE[8:], ids=CASE_IDS[:4] + CASE_IDS[8:])
def test_layouts(op, params, layout, backend, dtype, rng):
    check_op(op, [(9, 13)], params, backend=backend, dtype=dtype, rng=rng, layouts=LAYOUTS[layout], gradcheck=False)





@pytest.mark.parametrize("isa", ISAS, indirect=True)
def test_every_isa(isa, dtype, rng):
    # the C++ kernel of each ISA (the default run covers only the best one)
    for op, params in ELEMENTWISE:
        check_op(op, [(5, 37)], params, backend="cpu", dtype=dtype, rng=rng, gradcheck=dtype == np.float64)
    check_op("prelu", [(4, 3, 21), (3,)], backend="cpu", dtype=dtype, rng=rng)
    check_op("prelu", [(5, 19), (19,)], backend="cpu", dtype=dtype, rng=rng)
    check_op("maxout", [(3, 3 * 37)], {"pieces": 3}, backend="cpu", dtype=dtype, rng=rng)
    # ties go to the first piece, a NaN wins from the first NaN on (lanes 0..3 of m = 37)
    z = np.zeros((1, 3, 37), dtype)
    z[0, :, 0] = [1, 1, 0]
    z[0, :, 1] = [0, np.nan, 5]
    z[0, :, 2] = [np.nan, np.nan, 5]
    z[0, :, 36] = [0, 2, 2]
    y, cache = fd.maxout_forward(z.reshape(1, -1), 3)
    (dz,) = fd.maxout_backward(np.ones((1, 37), dtype), cache)
    assert y[0, 0] == 1 and np.isnan(y[0, 1]) and np.isnan(y[0, 2]) and y[0, 36] == 2
    np.testing.assert_array_equal(dz.reshape(3, 37)[:, [0, 1, 2, 36]].T, [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]])


PRELU_CASES = [
    ((4, 3, 5), (3,)),         # per channel, spatial
    ((4, 3, 5), (1,)),         # one alpha
    ((2, 6, 3, 4), (6,)),      # NCHW
    ((5, 19), (19,)),          # (N, C): alpha along the row
    ((5, 19), (1,)),
    ((7,), (1,)),              # 1-D: one channel
    ((1, 1, 1), (1,)),
    ((0, 3, 4), (3,)),         # empty batch: dalpha = 0
    ((3, 2, 300), (2,)),       # rows longer than a register, with a tail
]


@pytest.mark.parametrize("x_shape,a_shape", PRELU_CASES, ids=str)
def test_prelu(x_shape, a_shape, backend, dtype, rng):
    check_op("prelu", [x_shape, a_shape], backend=backend, dtype=dtype, rng=rng,
             gradcheck=np.prod(x_shape) <= 400)


def test_prelu_noncontiguous(backend, dtype, rng):
    check_op("prelu", [(4, 3, 5), (3,)], backend=backend, dtype=dtype, rng=rng,
             layouts={0: lambda x: np.asfortranarray(x), 1: lambda a: np.repeat(a, 2)[::2]})


MAXOUT_CASES = [((4, 12), 3), ((1, 5), 5), ((3, 7), 1), ((6, 40), 2), ((0, 6), 2), ((2, 2 * 33), 2)]


@pytest.mark.parametrize("shape,pieces", MAXOUT_CASES, ids=str)
def test_maxout(shape, pieces, backend, dtype, rng):
    check_op("maxout", [shape], {"pieces": pieces}, backend=backend, dtype=dtype, rng=rng,
             gradcheck=np.prod(shape) <= 200)


def test_maxout_ties_route_to_first(backend, dtype):
    z = np.array([[1.0, 5.0, 1.0, 5.0, 0.0, 5.0]], dtype)  # pieces=3, m=2: column 0 ties at p=0,1
    with fd.use_backend(backend):
        y, cache = fd.maxout_forward(z, 3)
        (dz,) = fd.maxout_backward(np.array([[2.0, 3.0]], dtype), cache)
    np.testing.assert_array_equal(y, [[1.0, 5.0]])
    np.testing.assert_array_equal(dz, [[2.0, 3.0, 0.0, 0.0, 0.0, 0.0]])


# ---------------------------------------------------------------------------
# determinism, special values


@pytest.mark.parametrize("op,params", ELEMENTWISE, ids=CASE_IDS)
def test_thread_count_does_not_change_bits(op, params, rng):
    x = rng.standard_normal(100_003).astype(np.float32)  # several thread chunks and a tail
    g = rng.standard_normal(x.shape).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        with at_threads(threads):
            y, cache = getattr(fd, op + "_forward")(x, **params)
            results.append((y, getattr(fd, op + "_backward")(g, cache)[0]))
    for y, dx in results[1:]:
        np.testing.assert_array_equal(y, results[0][0])
        np.testing.assert_array_equal(dx, results[0][1])


def test_prelu_dalpha_deterministic(backend, rng):
    x = rng.standard_normal((64, 3, 4099)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    a = rng.standard_normal(3).astype(np.float32)
    out = []
    for threads in (1, 2):
        with at_threads(threads):
            with fd.use_backend(backend):
                _, cache = fd.prelu_forward(x, a)
                out.append(fd.prelu_backward(g, cache))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


@pytest.mark.parametrize("op,params", ELEMENTWISE, ids=CASE_IDS)
def test_special_values(op, params, backend, dtype):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30, 800.0, -800.0], dtype)
    with fd.use_backend(backend):
        y = getattr(fd, op)(x, **params)
    assert np.isnan(y[0]), f"{op}(NaN) = {y[0]}"
    assert not np.isnan(y[3:]).any(), f"{op} gave NaN for finite input: {y}"
    finite_limit = {  # op(+inf), op(-inf)
        "sigmoid": (1, 0), "tanh": (1, -1), "relu": (np.inf, 0),
        "leaky_relu": (np.inf, -np.inf * params.get("alpha", 0.01)), "elu": (np.inf, -params.get("alpha", 1.0)),
        "gelu": (np.inf, 0), "silu": (np.inf, 0),
    }[op]
    np.testing.assert_array_equal(y[1:3], np.array(finite_limit, dtype), err_msg=f"{op} at +-inf")


def test_nan_propagates_in_prelu_and_maxout(backend, dtype):
    x = np.array([[np.nan, 1.0, -1.0]], dtype)
    with fd.use_backend(backend):
        y = fd.prelu(x, np.array([0.25], dtype))
        m = fd.maxout(np.array([[1.0, np.nan, 3.0, 2.0]], dtype), 2)
    assert np.isnan(y[0, 0]) and y[0, 2] == -0.25
    assert m[0, 0] == 3.0 and np.isnan(m[0, 1])  # pieces [1, nan] and [3, 2]


# ---------------------------------------------------------------------------
# bad input


def test_bad_input():
    f = np.float32
    with pytest.raises(TypeError, match="x: expected a float32 or float64 array, got int64"):
        fd.relu(np.ones(3, np.int64))
    with pytest.raises(TypeError, match="alpha: expected a real number"):
        fd.leaky_relu(np.ones(3, f), alpha="big")
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'erf'"):
        fd.gelu(np.ones(3, f), approximate="erf")
    with pytest.raises(ValueError, match=r"alpha must be \(1,\) or \(3,\) for x \(2, 3, 4\).*got \(4,\)"):
        fd.prelu(np.ones((2, 3, 4), f), np.ones(4, f))
    with pytest.raises(TypeError, match="mixed float dtypes: x float32, alpha float64"):
        fd.prelu(np.ones((2, 3), f), np.ones(3))
    with pytest.raises(ValueError, match="z's second dim 7 is not a multiple of pieces=2"):
        fd.maxout(np.ones((2, 7), f), 2)
    with pytest.raises(ValueError, match="pieces must be >= 1"):
        fd.maxout(np.ones((2, 6), f), 0)
    with pytest.raises(TypeError, match="pieces must be an int"):
        fd.maxout(np.ones((2, 6), f), 2.0)
    with pytest.raises(ValueError, match=r"z: expected 2 dims \(N, pieces \* M\)"):
        fd.maxout(np.ones(6, f), 2)
    y, cache = fd.sigmoid_forward(np.ones((2, 3), f))
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 3\) \(the forward output\), got \(3, 2\)"):
        fd.sigmoid_backward(np.ones((3, 2), f), cache)
    with pytest.raises(TypeError, match="dout: expected dtype float32"):
        fd.sigmoid_backward(np.ones((2, 3)), cache)


def test_native_binding_checks():
    f = np.float32
    with pytest.raises(ValueError, match="unknown op code 99"):
        _cpu.act_fwd(np.empty(3, f), np.ones(3, f), 99, 0.0)
    with pytest.raises(ValueError, match="same size"):
        _cpu.act_fwd(np.empty(2, f), np.ones(3, f), 0, 0.0)
    with pytest.raises(ValueError, match="C-contiguous"):
        _cpu.act_fwd(np.empty(3, f), np.ones(6, f)[::2], 0, 0.0)
    ro = np.empty(3, f)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only|not writeable"):
        _cpu.act_fwd(ro, np.ones(3, f), 0, 0.0)
    with pytest.raises(ValueError, match="alpha must be"):
        _cpu.prelu_fwd(np.empty((2, 3, 1), f), np.ones((2, 3, 1), f), np.ones(2, f))
    with pytest.raises(ValueError, match="not a multiple"):
        _cpu.maxout_fwd(np.empty((2, 2), f), np.ones((2, 5), f), 2)


def test_inputs_untouched_and_cache_small(rng):
    x = rng.standard_normal((50, 40)).astype(np.float32)
    x0 = x.copy()
    y, cache = fd.relu_forward(x)
    assert cache.nbytes == y.nbytes  # relu keeps only its output
    fd.relu_backward(np.ones_like(y), cache)
    np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("op,params", ELEMENTWISE, ids=CASE_IDS)
def test_out_buffer_and_in_place(op, params, backend, dtype, rng):
    x = rng.standard_normal((33, 7)).astype(dtype)
    with fd.use_backend(backend):
        want = getattr(fd, op)(x, **params)
        out = np.full_like(x, np.nan)
        assert getattr(fd, op)(x, out=out, **params) is out
        x2 = x.copy()
        assert getattr(fd, op)(x2, out=x2, **params) is x2
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(x2, want)


def test_out_buffer_prelu_maxout(backend, dtype, rng):
    x = rng.standard_normal((4, 3, 5)).astype(dtype)
    a = rng.standard_normal(3).astype(dtype)
    z = rng.standard_normal((4, 12)).astype(dtype)
    with fd.use_backend(backend):
        want, mz = fd.prelu(x, a), fd.maxout(z, 3)
        assert fd.prelu(x, a, out=x) is x
        out = np.empty((4, 4), dtype)
        assert fd.maxout(z, 3, out=out) is out
    np.testing.assert_array_equal(x, want)
    np.testing.assert_array_equal(out, mz)


def test_out_buffer_checks():
    f = np.float32
    x = np.ones((4, 6), f)
    with pytest.raises(ValueError, match=r"out: expected shape \(4, 6\), got \(6, 4\)"):
        fd.relu(x, out=np.empty((6, 4), f))
    with pytest.raises(TypeError, match="out: expected dtype float32, got float64"):
        fd.relu(x, out=np.empty((4, 6)))
    with pytest.raises(ValueError, match="writeable C-contiguous"):
        fd.relu(x, out=np.empty((6, 4), f).T)
    with pytest.raises(TypeError, match="out: expected a NumPy array"):
        fd.relu(x, out=[0.0] * 24)
    buf = np.ones(30, f)
    with pytest.raises(ValueError, match="overlaps an input"):
        fd.sigmoid(buf[:24].reshape(4, 6), out=buf[6:].reshape(4, 6))
    with pytest.raises(ValueError, match="overlaps an input"):
        fd.maxout(buf[:24].reshape(2, 12), 3, out=buf[:8].reshape(2, 4))
