"""max_pool2d and avg_pool2d: every backend x dtype against the reference and gradcheck,
ties, NaN, determinism, PyTorch parity and bad input."""

import numpy as np
import pytest

import fastdl as fd
from helpers import at_threads, check_op, rel_err

# (x shape, params); comments name the C++ path
POOL_CASES = [
    ((2, 3, 8, 8), dict(kernel_size=2)),                               # 2x2 stride 2: fast path
    ((2, 3, 7, 9), dict(kernel_size=2, stride=2)),                     # fast path, odd sizes
    ((1, 2, 9, 9), dict(kernel_size=3, stride=2, padding=1)),          # overlapping windows, batch 1
    ((2, 2, 6, 7), dict(kernel_size=3, stride=1, padding=1)),          # stride 1 (vectorised rows)
    ((2, 3, 7, 8), dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1))),
    ((2, 2, 10, 9), dict(kernel_size=2, stride=3)),                    # stride > kernel: gaps
    ((2, 2, 5, 5), dict(kernel_size=5)),                               # one window
    ((2, 2, 4, 6), dict(kernel_size=(4, 2), stride=(1, 1), padding=(2, 0))),  # padding = half the kernel
    ((0, 3, 6, 6), dict(kernel_size=2)),                               # empty batch
]


def _small(shape):
    return np.prod(shape) < 600


@pytest.mark.parametrize("x_shape,params", POOL_CASES, ids=str)
@pytest.mark.parametrize("ties", ["first", "split"])
def test_max_pool2d(x_shape, params, ties, backend, dtype, rng):
    check_op("max_pool2d", [x_shape], dict(params, ties=ties), backend=backend, dtype=dtype, rng=rng,
             gradcheck=_small(x_shape))


@pytest.mark.parametrize("x_shape,params", POOL_CASES, ids=str)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d(x_shape, params, count_include_pad, backend, dtype, rng):
    check_op("avg_pool2d", [x_shape], dict(params, count_include_pad=count_include_pad), backend=backend,
             dtype=dtype, rng=rng, gradcheck=_small(x_shape))


@pytest.mark.parametrize("params", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))], ids=str)
@pytest.mark.parametrize("ties", ["first", "split"])
def test_max_pool2d_ties(params, ties, backend, dtype, rng):
    # Few distinct values: most windows hold several equal maxima.
    x = rng.integers(0, 3, (2, 3, 8, 9)).astype(dtype)
    check_op("max_pool2d", [x], dict(params, ties=ties), backend=backend, dtype=dtype, rng=rng, gradcheck=False)


def test_max_pool2d_ties_route_gradient(backend):
    x = np.array([[[[1.0, 5.0, 5.0, 0.0], [5.0, 2.0, 3.0, 3.0]]]])
    dout = np.array([[[[4.0, 6.0]]]])
    with fd.use_backend(backend):
        _, cache = fd.max_pool2d_forward(x, 2)
        (first,) = fd.max_pool2d_backward(dout, cache)
        _, cache = fd.max_pool2d_forward(x, 2, ties="split")
        (split,) = fd.max_pool2d_backward(dout, cache)
    np.testing.assert_array_equal(first, [[[[0, 4, 6, 0], [0, 0, 0, 0]]]])
    np.testing.assert_array_equal(split, [[[[0, 2, 6, 0], [2, 0, 0, 0]]]])


@pytest.mark.parametrize("ties", ["first", "split"])
def test_max_pool2d_minus_infinity(ties, backend, dtype, rng):
    # Windows whose elements are all -inf: the maximum is -inf, and the gradient
    # goes to those elements, never to the (-inf) padding.
    x = np.full((1, 2, 5, 6), -np.inf, dtype)
    x[0, 1, 2, 3] = 1
    params = dict(kernel_size=3, stride=2, padding=1, ties=ties)
    with fd.use_backend(backend):
        out, cache = fd.max_pool2d_forward(x, **params)
        dout = rng.standard_normal(out.shape).astype(dtype)
        (dx,) = fd.max_pool2d_backward(dout, cache)
    ref, ref_cache = fd.reference.max_pool2d_forward(x, **params)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_allclose(dx, fd.reference.max_pool2d_backward(dout, ref_cache)[0], rtol=1e-5, atol=1e-6)
    if ties == "first":
        assert dx[0, 0, 0, 0] == dout[0, 0, 0, 0]        # corner window: its first element
    assert dx[0, 0].sum() == pytest.approx(dout[0, 0].sum(), rel=1e-5)  # nothing lost to the padding


@pytest.mark.parametrize("params", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)], ids=str)
def test_max_pool2d_nan_propagates(params, backend):
    x = np.arange(2 * 36, dtype=np.float64).reshape(1, 2, 6, 6)
    x[0, 0, 1, 1] = np.nan
    with fd.use_backend(backend):
        out, cache = fd.max_pool2d_forward(x, **params)
        (dx,) = fd.max_pool2d_backward(np.ones_like(out), cache)
    assert np.isnan(out[0, 0, 0, 0]) and not np.isnan(out[0, 1]).any()
    # every window holding the NaN outputs NaN and sends its whole gradient to it
    assert dx[0, 0, 1, 1] == np.isnan(out).sum() >= 1


def test_noncontiguous_input(backend, dtype, rng):
    layouts = {0: lambda x: np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)}
    check_op("max_pool2d", [(2, 3, 8, 6)], dict(kernel_size=2), backend=backend, dtype=dtype, rng=rng,
             layouts=layouts, gradcheck=False)
    check_op("avg_pool2d", [(2, 3, 8, 6)], dict(kernel_size=3, stride=1, padding=1), backend=backend,
             dtype=dtype, rng=rng, layouts=layouts, gradcheck=False)


@pytest.mark.parametrize("op,params", [
    ("max_pool2d", dict(kernel_size=2)), ("max_pool2d", dict(kernel_size=3, stride=2, padding=1, ties="split")),
    ("avg_pool2d", dict(kernel_size=2)), ("avg_pool2d", dict(kernel_size=3, stride=1, padding=1,
                                                             count_include_pad=False)),
], ids=str)
def test_thread_count_does_not_change_results(op, params, rng):
    x = rng.standard_normal((3, 17, 12, 14)).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        with at_threads(threads):
            out, cache = getattr(fd, op + "_forward")(x, **params)
            dout = np.random.default_rng(3).standard_normal(out.shape).astype(np.float32)
            results.append((out, *getattr(fd, op + "_backward")(dout, cache)))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("op,params", [
    ("max_pool2d", dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool2d", dict(kernel_size=(3, 2), stride=(2, 1), padding=1, count_include_pad=False)),
], ids=str)
def test_matches_pytorch(op, params, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 9, 8))
    out, cache = getattr(fd, op + "_forward")(x, **params)
    dout = rng.standard_normal(out.shape)
    (dx,) = getattr(fd, op + "_backward")(dout, cache)
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch.nn.functional, op)(tx, **params)
    ty.backward(torch.tensor(dout))
    assert rel_err(out, ty.detach().numpy()) < 1e-15
    assert rel_err(dx, tx.grad.numpy()) < 1e-15


def test_cache_keeps_no_indices(rng):
    x = rng.standard_normal((4, 8, 16, 16)).astype(np.float32)
    _, cache = fd.max_pool2d_forward(x, 2)
    assert cache.nbytes == x.nbytes
    _, cache = fd.avg_pool2d_forward(x, 2)
    assert cache.nbytes == 0


X = np.zeros((2, 3, 8, 8), np.float32)


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(kernel_size=0), ValueError, r"kernel_size must be >= 1, got 0"),
    (dict(kernel_size=2, stride=0), ValueError, r"stride must be >= 1"),
    (dict(kernel_size=2, padding=-1), ValueError, r"padding must be >= 0"),
    (dict(kernel_size=3, padding=2), ValueError, r"padding \(2, 2\) must be at most half the kernel size \(3, 3\)"),
    (dict(kernel_size=11, padding=1), ValueError, r"kernel \(11, 11\) is larger than the padded input \(10, 10\)"),
    (dict(x=np.zeros((3, 8, 8), np.float32), kernel_size=2), ValueError, r"x must be \(N, C, H, W\), got shape \(3, 8, 8\)"),
    (dict(x=np.zeros((2, 3, 8, 8), np.int32), kernel_size=2), TypeError, r"x: expected a float32 or float64 array, got int32"),
    (dict(kernel_size=2.0), TypeError, r"kernel_size must be an int"),
])
def test_bad_input(op, kwargs, exc, match):
    args = dict(x=X)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        getattr(fd, op)(**args)


def test_bad_options():
    with pytest.raises(ValueError, match=r"ties must be 'first' or 'split', got 'last'"):
        fd.max_pool2d(X, 2, ties="last")
    with pytest.raises(TypeError, match="count_include_pad must be a bool"):
        fd.avg_pool2d(X, 2, count_include_pad="yes")
    _, cache = fd.max_pool2d_forward(X, 2)
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 3, 4, 4\)"):
        fd.max_pool2d_backward(np.zeros((2, 3, 4, 5), np.float32), cache)
    _, cache = fd.avg_pool2d_forward(X, 2)
    with pytest.raises(TypeError, match=r"dout: expected dtype float32"):
        fd.avg_pool2d_backward(np.zeros((2, 3, 4, 4)), cache)
