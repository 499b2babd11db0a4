"""loss family: every loss x reduction x backend x dtype against the reference
and gradcheck; label dtypes, ignore_index, (N, C, d1, ...) cross entropy,
every ISA, determinism, NaN propagation and bad input."""

import numpy as np
import pytest

import fastdl as fd
from fastdl import _cpu
from helpers import at_threads, check_op, ISAS

REDUCTIONS = ["mean", "sum", "none"]


def _prob(rng, shape):
    return rng.uniform(0.02, 0.98, shape)


def _check(op, inputs, params, *, backend, dtype, rng, gradcheck):
    """check_op, except for a 'mean' over no elements: NaN, as torch (the reference warns)."""
    shape = inputs[0] if isinstance(inputs[0], tuple) else inputs[0].shape
    if params.get("reduction", "mean") == "mean" and 0 in shape:
        xs = [np.zeros(x, dtype) if isinstance(x, tuple) else x.astype(dtype) if x.dtype.kind == "f" else x
              for x in inputs]
        with fd.use_backend(backend):
            out = getattr(fd, op)(*xs, **params)
        assert np.isnan(out) and out.dtype == dtype
        return
    check_op(op, inputs, params, backend=backend, dtype=dtype, rng=rng, gradcheck=gradcheck)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(1,), (4, 5), (3, 2, 7), (0, 3), (1000,)], ids=str)
def test_mse_l1_kl(shape, reduction, backend, dtype, rng):
    small = 4 <= np.prod(shape) <= 200  # gradcheck's error is relative to the largest gradient: not of 1 value
    _check("mse_loss", [shape, shape], {"reduction": reduction}, backend=backend, dtype=dtype, rng=rng,
           gradcheck=small)
    _check("l1_loss", [shape, shape], {"reduction": reduction}, backend=backend, dtype=dtype, rng=rng,
           gradcheck=small)
    _check("gaussian_kl_loss", [shape, shape], {"reduction": reduction}, backend=backend, dtype=dtype, rng=rng,
           gradcheck=small)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(1,), (4, 5), (3, 2, 7), (0, 3), (1000,)], ids=str)
def test_bce(shape, reduction, backend, dtype, rng):
    small = 4 <= np.prod(shape) <= 200  # gradcheck's error is relative to the largest gradient: not of 1 value
    soft = rng.uniform(0, 1, shape)
    hard = rng.integers(0, 2, shape).astype(np.float64)
    _check("bce_loss", [_prob(rng, shape), soft], {"reduction": reduction}, backend=backend, dtype=dtype,
           rng=rng, gradcheck=small)
    _check("bce_loss", [_prob(rng, shape), hard], {"reduction": reduction}, backend=backend, dtype=dtype,
           rng=rng, gradcheck=small)
    _check("bce_with_logits_loss", [shape, soft], {"reduction": reduction}, backend=backend, dtype=dtype,
           rng=rng, gradcheck=small)
    _check("bce_with_logits_loss", [rng.standard_normal(shape) * 20, hard], {"reduction": reduction},
           backend=backend, dtype=dtype, rng=rng, gradcheck=False)


def test_bce_clamps_like_torch(backend, dtype):
    # prob exactly 0 or 1: logs clamp at -100, the gradient's denominator at 1e-12
    p = np.array([0.0, 1.0, 0.0, 1.0], dtype)
    t = np.array([1.0, 0.0, 0.0, 1.0], dtype)
    with fd.use_backend(backend):
        out, cache = fd.bce_loss_forward(p, t, reduction="none")
        dp, dt = fd.bce_loss_backward(np.ones(4, dtype), cache)
    np.testing.assert_array_equal(out, np.array([100.0, 100.0, 0.0, 0.0], dtype))
    np.testing.assert_allclose(dp, np.array([-1e12, 1e12, 0.0, 0.0]), rtol=1e-6)
    np.testing.assert_array_equal(dt, np.array([100.0, -100.0, 100.0, -100.0], dtype))


LABEL_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def _labels(rng, shape, c, dtype=np.int64, ignore_frac=0.0):
    lab = rng.integers(0, c, shape).astype(dtype)
    if ignore_frac:
        lab = lab.astype(np.int64)
        lab[rng.uniform(size=shape) < ignore_frac] = -100
    return lab


CE_SHAPES = [(1, 1), (5, 3), (4, 37), (64, 1000), (2, 3, 4), (2, 5, 3, 4), (3, 4, 130), (0, 4), (2, 3, 0)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", CE_SHAPES, ids=str)
def test_cross_entropy(shape, reduction, backend, dtype, rng):
    c = shape[1]
    lab = _labels(rng, (shape[0],) + shape[2:], c, ignore_frac=0.2)
    if reduction == "mean" and not (lab != -100).any():  # a mean over no positions: NaN, as torch
        with fd.use_backend(backend):
            assert np.isnan(fd.cross_entropy_loss(np.zeros(shape, dtype), lab))
        return
    check_op("cross_entropy_loss", [shape, lab], {"reduction": reduction}, backend=backend, dtype=dtype,
             rng=rng, gradcheck=np.prod(shape) <= 200)


@pytest.mark.parametrize("label_dtype", LABEL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_cross_entropy_label_dtypes(label_dtype, backend, dtype, rng):
    check_op("cross_entropy_loss", [(6, 5), _labels(rng, 6, 5, label_dtype)], backend=backend, dtype=dtype,
             rng=rng)


def test_cross_entropy_ignore_index(backend, dtype, rng):
    lab = _labels(rng, (7,), 4)
    lab[[1, 4]] = 2
    lab[[0, 6]] = [0, 3]  # at least two counted labels: a 'mean' over none is NaN (test_cross_entropy_all_ignored)
    check_op("cross_entropy_loss", [(7, 4), lab], {"ignore_index": 2}, backend=backend, dtype=dtype, rng=rng)
    lab[3] = -100  # not ignored now, so out of range
    with fd.use_backend(backend), pytest.raises(ValueError, match=r"labels must lie in \[0, 4\) or equal ignore_index=2"):
        fd.cross_entropy_loss(rng.standard_normal((7, 4)).astype(dtype), lab, ignore_index=2)


def test_cross_entropy_all_ignored(backend, dtype, rng):
    x = rng.standard_normal((3, 4)).astype(dtype)
    lab = np.full(3, -100)
    with fd.use_backend(backend):
        mean, cache = fd.cross_entropy_loss_forward(x, lab)
        (dx, none) = fd.cross_entropy_loss_backward(1.0, cache)
        total = fd.cross_entropy_loss(x, lab, reduction="sum")
    assert np.isnan(mean) and mean.dtype == dtype and total == 0  # torch: nan and 0
    np.testing.assert_array_equal(dx, 0)
    assert none is None


def test_cross_entropy_layouts(backend, dtype, rng):
    check_op("cross_entropy_loss", [(6, 9), _labels(rng, 6, 9)], backend=backend, dtype=dtype, rng=rng,
             layouts={0: np.asfortranarray, 1: lambda a: np.repeat(a, 2)[::2]})
    check_op("cross_entropy_loss", [(2, 5, 3), _labels(rng, (2, 3), 5)], backend=backend, dtype=dtype, rng=rng,
             layouts={0: lambda x: np.ascontiguousarray(x.transpose(0, 2, 1)).transpose(0, 2, 1)})


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 3), (5, 4), (40, 10), (0, 3)], ids=str)
def test_hinge(shape, reduction, backend, dtype, rng):
    lab = _labels(rng, shape[0], shape[1])
    _check("hinge_loss", [shape, lab], {"reduction": reduction}, backend=backend, dtype=dtype, rng=rng,
           gradcheck=np.prod(shape) <= 200)
    _check("hinge_loss", [shape, lab], {"reduction": reduction, "margin": 0.3}, backend=backend, dtype=dtype,
           rng=rng, gradcheck=False)





@pytest.mark.parametrize("isa", ISAS, indirect=True)
def test_every_isa(isa, dtype, rng):
    kw = {"backend": "cpu", "dtype": dtype, "rng": rng, "gradcheck": dtype == np.float64}
    for red in REDUCTIONS:
        check_op("mse_loss", [(5, 7), (5, 7)], {"reduction": red}, **kw)
        check_op("l1_loss", [(5, 7), (5, 7)], {"reduction": red}, **kw)
        check_op("bce_loss", [_prob(rng, (5, 7)), rng.uniform(0, 1, (5, 7))], {"reduction": red}, **kw)
        check_op("bce_with_logits_loss", [(5, 7), rng.uniform(0, 1, (5, 7))], {"reduction": red}, **kw)
        check_op("gaussian_kl_loss", [(5, 7), (5, 7)], {"reduction": red}, **kw)
        lab = _labels(rng, 6, 37, ignore_frac=0.2)
        lab[0] = 5  # one counted label at least (all six ignored: 6e-5 a run)
        check_op("cross_entropy_loss", [(6, 37), lab], {"reduction": red}, **kw)
        check_op("cross_entropy_loss", [(2, 5, 21), _labels(rng, (2, 21), 5, ignore_frac=0.2)],
                 {"reduction": red}, **kw)
        check_op("cross_entropy_loss", [(2, 70_001), _labels(rng, 2, 70_001)], {"reduction": red},
                 backend="cpu", dtype=dtype, rng=rng, gradcheck=False)  # the online row pass


def test_each_op_by_name(backend, dtype, rng):
    # one plain line per op, so every table row is visibly tested
    check_op("mse_loss", [(3, 4), (3, 4)], backend=backend, dtype=dtype, rng=rng)
    check_op("l1_loss", [(3, 4), (3, 4)], backend=backend, dtype=dtype, rng=rng)
    check_op("bce_loss", [_prob(rng, (3, 4)), rng.uniform(0, 1, (3, 4))], backend=backend, dtype=dtype, rng=rng)
    check_op("bce_with_logits_loss", [(3, 4), rng.uniform(0, 1, (3, 4))], backend=backend, dtype=dtype, rng=rng)
    check_op("cross_entropy_loss", [(3, 4), _labels(rng, 3, 4)], backend=backend, dtype=dtype, rng=rng)
    check_op("hinge_loss", [(3, 4), _labels(rng, 3, 4)], backend=backend, dtype=dtype, rng=rng)
    check_op("gaussian_kl_loss", [(3, 4), (3, 4)], backend=backend, dtype=dtype, rng=rng)


# ---------------------------------------------------------------------------
# determinism, NaN


def _same_for_threads(fn, backend):
    out = []
    for threads in (1, 2, 3):
        with at_threads(threads):
            with fd.use_backend(backend):
                out.append(fn())
    for r in out[1:]:
        for a, b in zip(r, out[0]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("op", ["mse_loss", "l1_loss", "bce_loss", "bce_with_logits_loss", "gaussian_kl_loss"])
def test_pointwise_thread_count_does_not_change_bits(op, backend, rng):
    a = rng.uniform(0.01, 0.99, 1_000_003).astype(np.float32)
    b = rng.uniform(0, 1, a.shape).astype(np.float32)

    def run():
        loss, cache = getattr(fd, op + "_forward")(a, b)
        return (loss, *getattr(fd, op + "_backward")(0.5, cache))

    _same_for_threads(run, backend)


@pytest.mark.parametrize("shape", [(4096, 1000), (16, 8, 70, 30)], ids=str)
def test_cross_entropy_thread_count_does_not_change_bits(shape, backend, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    lab = _labels(rng, (shape[0],) + shape[2:], shape[1], ignore_frac=0.1)

    def run():
        loss, cache = fd.cross_entropy_loss_forward(x, lab)
        return (loss, fd.cross_entropy_loss_backward(1.0, cache)[0])

    _same_for_threads(run, backend)


def test_nan_in_nan_out(backend, dtype):
    nan = np.array([np.nan, 0.5], dtype)
    ok = np.array([0.5, 0.5], dtype)
    with fd.use_backend(backend):
        for op in ("mse_loss", "l1_loss", "bce_loss", "bce_with_logits_loss", "gaussian_kl_loss"):
            out = getattr(fd, op)(nan, ok, reduction="none")
            assert np.isnan(out[0]) and not np.isnan(out[1]), op
            assert np.isnan(getattr(fd, op)(nan, ok)), op
            assert np.isnan(getattr(fd, op)(ok, nan, reduction="none")[0]), op
        x = np.array([[np.nan, 0.0, 1.0], [0.0, 1.0, 2.0]], dtype)
        ce = fd.cross_entropy_loss(x, np.array([1, 2]), reduction="none")
        assert np.isnan(ce[0]) and np.isfinite(ce[1])
        hi = fd.hinge_loss(x, np.array([1, 2]), reduction="none")
        assert np.isnan(hi[0]) and np.isfinite(hi[1])


# ---------------------------------------------------------------------------
# bad input


def test_bad_input(rng):
    f = np.float32
    x = np.ones((3, 4), f)
    with pytest.raises(ValueError, match=r"bce_loss: prob must lie in \[0, 1\]; 2 of its 4 values do not"):
        fd.bce_loss(np.array([0.5, 1.5, -0.1, 1.0], f), np.ones(4, f))
    with pytest.raises(ValueError, match=r"target must have pred's shape \(3, 4\), got \(4, 3\)"):
        fd.mse_loss(x, np.ones((4, 3), f))
    with pytest.raises(TypeError, match="mixed float dtypes: pred float32, target float64"):
        fd.l1_loss(x, np.ones((3, 4)))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        fd.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\) or equal ignore_index=-100; got 1"):
        fd.cross_entropy_loss(x, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\)"):
        fd.cross_entropy_loss(x, np.array([0, -1, 1]))
    with pytest.raises(TypeError, match="labels must be an integer array, got float32"):
        fd.cross_entropy_loss(x, np.array([0, 1, 2], f))
    with pytest.raises(TypeError, match="labels must be an integer array, got bool"):
        fd.cross_entropy_loss(x, np.array([True, False, True]))
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\) to match the scores \(3, 4\), got \(4,\)"):
        fd.cross_entropy_loss(x, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"labels must have shape \(2, 5\) to match the scores \(2, 3, 5\)"):
        fd.cross_entropy_loss(np.ones((2, 3, 5), f), np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError, match="labels must be class indices"):
        fd.cross_entropy_loss(x, np.array([0, 2**64 - 100, 1], np.uint64))  # would wrap to -100
    with pytest.raises(ValueError, match=r"logits must be \(N, C\) or \(N, C, d1, ...\), got shape \(4,\)"):
        fd.cross_entropy_loss(np.ones(4, f), np.array(1))
    with pytest.raises(ValueError, match=r"hinge_loss: labels must lie in \[0, 4\); got 1"):
        fd.hinge_loss(x, np.array([0, 9, 1]))
    with pytest.raises(ValueError, match=r"scores must be \(N, C\)"):
        fd.hinge_loss(np.ones((2, 3, 4), f), np.zeros(2, np.int64))
    loss, cache = fd.mse_loss_forward(x, x)
    with pytest.raises(ValueError, match=r"dout: expected a scalar \(the loss is reduced with 'mean'\), got shape \(3,\)"):
        fd.mse_loss_backward(np.ones(3, f), cache)
    with pytest.raises(TypeError, match="dout: expected a real number"):
        fd.mse_loss_backward("one", cache)
    loss, cache = fd.mse_loss_forward(x, x, reduction="none")
    with pytest.raises(ValueError, match=r"dout: expected shape \(3, 4\)"):
        fd.mse_loss_backward(1.0, cache)


def test_native_binding_never_reads_out_of_range():
    f = np.float32
    x = np.ones((2, 3, 1), f)
    total, count, bad = _cpu.cross_entropy_fwd(np.empty(2, f), np.empty(2, f), x, np.array([0, 10**12]), -100)
    assert bad == 1
    with pytest.raises(ValueError, match="out of range"):
        _cpu.cross_entropy_bwd(np.empty((2, 3, 1), f), x, np.zeros(2, f), np.array([0, -5]), None, 1.0, -100)
    with pytest.raises(TypeError, match="labels: expected int64"):
        _cpu.cross_entropy_fwd(np.empty(2, f), np.empty(2, f), x, np.array([0, 1], np.int32), -100)
    assert _cpu.hinge_fwd(np.empty(2, f), x[:, :, 0].copy(), np.array([3, 0]), 1.0)[1] == 1
    with pytest.raises(ValueError, match="unknown kind 9"):
        _cpu.pointwise_loss_fwd(9, None, np.ones(2, f), np.ones(2, f))


def test_labels_untouched_and_cache_small(rng):
    x = rng.standard_normal((50, 10)).astype(np.float32)
    lab = rng.integers(0, 10, 50).astype(np.int64)
    lab0 = lab.copy()
    loss, cache = fd.cross_entropy_loss_forward(x, lab)
    fd.cross_entropy_loss_backward(1.0, cache)
    np.testing.assert_array_equal(lab, lab0)
    assert cache.nbytes == x.nbytes + lab.nbytes + 50 * 4  # logits, labels, one lse per row: no probabilities
