"""batch_norm, layer_norm, group_norm, instance_norm: every backend x dtype against
the reference and gradcheck, against torch.nn.functional, running stats, bad input,
determinism across thread counts."""

import numpy as np
import pytest

import fastdl as fd
from fastdl import reference
from helpers import at_threads, check_op, ISAS, rel_err


def _pos(shape):
    # a positive running variance, different on every call
    return np.random.default_rng().uniform(0.5, 2.0, shape)


# ---------------------------------------------------------------------------
# batch_norm

# (x shape, affine): (N, D), (N, C, L), (N, C, H, W), channel-block and lane edges
BN_TRAIN = [
    ((3, 1), True),              # small batch, one feature (N = 2 has dx = 0 up to eps: ill-conditioned)
    ((8, 5), True),
    ((7, 130), True),            # (N, D) with D over one 64-channel block
    ((3, 4, 9), True),           # (N, C, L)
    ((4, 3, 5, 6), True),
    ((2, 3, 40, 50), True),      # 2000 elements per row of a channel: partial-sum flushes
    ((5, 3, 2, 2, 3), True),     # 3-D spatial
    ((4, 6, 3, 3), False),       # no affine part
]


@pytest.mark.parametrize("shape,affine", BN_TRAIN, ids=str)
def test_batch_norm_train(shape, affine, backend, dtype, rng):
    c = shape[1]
    params = [(c,), (c,)] if affine else [None, None]
    check_op("batch_norm", [shape, *params, None, None], {"training": True}, backend=backend, dtype=dtype,
             rng=rng, gradcheck=np.prod(shape) < 2000)


@pytest.mark.parametrize("shape", [(1, 4), (6, 3), (3, 70), (2, 3, 4, 5), (0, 3, 4)], ids=str)
def test_batch_norm_eval(shape, backend, dtype, rng):
    c = shape[1]
    check_op("batch_norm", [shape, (c,), (c,), (c,), _pos(c), False, 0.1, 1e-3], {},
             backend=backend, dtype=dtype, rng=rng)


def test_batch_norm_only_gamma_and_layouts(backend, dtype, rng):
    check_op("batch_norm", [(6, 4, 3, 5), (4,), None, None, None, True, 0.1, 0.1], {},
             backend=backend, dtype=dtype, rng=rng, layouts={0: lambda x: np.asfortranarray(x)})
    check_op("batch_norm", [(9, 5), None, (5,), None, None], {}, backend=backend, dtype=dtype, rng=rng,
             layouts={0: lambda x: np.ascontiguousarray(x.T).T, 2: lambda b: np.repeat(b, 2)[::2]})


@pytest.mark.parametrize("shape", [(16, 5), (4, 3, 6, 7)], ids=str)
def test_batch_norm_running_stats(shape, backend, dtype, rng):
    # Several training steps update running_mean/var in place exactly as the
    # reference does (unbiased variance); evaluation then uses them.
    c = shape[1]
    gamma, beta = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    rm, rv = rng.standard_normal(c).astype(dtype), _pos(c).astype(dtype)
    rm_ref, rv_ref = rm.astype(np.float64), rv.astype(np.float64)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    with fd.use_backend(backend):
        for step in range(3):
            x = (3 * rng.standard_normal(shape) + step).astype(dtype)
            y = fd.batch_norm(x, gamma, beta, rm, rv, training=True, momentum=0.2)
            ref, _ = reference.batch_norm_forward(x.astype(np.float64), gamma.astype(np.float64),
                                                  beta.astype(np.float64), rm_ref, rv_ref, True, 0.2)
            assert rel_err(y, ref) < tol
            assert rel_err(rm, rm_ref) < tol and rel_err(rv, rv_ref) < tol
        x = rng.standard_normal(shape).astype(dtype)
        y = fd.batch_norm(x, gamma, beta, rm, rv, training=False)
    ref, _ = reference.batch_norm_forward(x.astype(np.float64), gamma.astype(np.float64), beta.astype(np.float64),
                                          rm_ref, rv_ref, False)
    assert rel_err(y, ref) < tol
    assert rel_err(rm, rm_ref) < tol  # evaluation left them alone


def test_batch_norm_running_stats_strided_view(backend, rng):
    # Non-contiguous running stats (a view into a bigger buffer) are still updated in place.
    buf_m, buf_v = np.zeros(8), np.ones(8)
    rm, rv = buf_m[::2], buf_v[::2]
    x = rng.standard_normal((10, 4))
    with fd.use_backend(backend):
        fd.batch_norm(x, None, None, rm, rv, momentum=0.5)
    np.testing.assert_allclose(buf_m[::2], 0.5 * x.mean(0), rtol=1e-12, atol=1e-14)  # a mean may be ~0
    np.testing.assert_allclose(buf_v[::2], 0.5 + 0.5 * x.var(0, ddof=1), rtol=1e-12)
    assert (buf_m[1::2] == 0).all() and (buf_v[1::2] == 1).all()


@pytest.mark.parametrize("outlier", [0.0, 1e4])
def test_batch_norm_features_far_from_the_first_row(outlier, backend, rng):
    # (N, D) statistics: one pass shifted by the first row, with an exact second
    # pass when the first row is far from the mean; float64 stays within 1e-12.
    x = 5 + rng.standard_normal((40000, 9))  # (mean - K)^2 / var ~ N: shifted sums alone would miss 1e-12
    x[0] += outlier
    x[:, 3] = 7.0  # a constant feature: var = 0
    with fd.use_backend(backend):
        y = fd.batch_norm(x, None, None, None, None)
    ref, _ = reference.batch_norm_forward(x, None, None, None, None)
    assert rel_err(y, ref) <= 1e-12


def test_batch_norm_outlying_feature_any_thread_count(backend, dtype, rng):
    # Only feature 300 needs the second pass; the others keep their first-pass
    # statistics whatever the thread count (threads split the features of a
    # short batch into blocks).
    x = rng.standard_normal((200, 400)).astype(dtype)
    x[0, 300] += 1e4
    g = rng.standard_normal(x.shape).astype(dtype)
    outs = []
    for threads in (1, 2, 3):
        with at_threads(threads), fd.use_backend(backend):
            y, cache = fd.batch_norm_forward(x, None, None, None, None)
            outs.append((y, cache.arrays["mean"], *fd.batch_norm_backward(g, cache)))
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            np.testing.assert_array_equal(a, b)
    ref, _ = reference.batch_norm_forward(x.astype(np.float64), None, None, None, None)
    assert rel_err(outs[0][0], ref) <= (1e-12 if dtype == np.float64 else 1e-5)


def test_batch_norm_empty_batch_keeps_running_stats(backend, dtype):
    rm, rv = np.zeros(3, dtype), np.ones(3, dtype)
    with fd.use_backend(backend):
        y = fd.batch_norm(np.ones((0, 3, 4), dtype), None, None, rm, rv)
    assert y.shape == (0, 3, 4)
    assert (rm == 0).all() and (rv == 1).all()


# ---------------------------------------------------------------------------
# layer_norm

LN_CASES = [
    ((1, 7), 1),                 # batch 1
    ((4, 10), 1),
    ((2, 3, 4, 5), 2),
    ((2, 3, 4), 3),              # every dim normalised
    ((3, 2100), 1),              # row longer than one partial-sum flush
    ((130, 7), 1),               # more rows than backward blocks
    ((5, 33), 1),                # lane tail
    ((0, 5), 1),                 # no rows
]


@pytest.mark.parametrize("shape,k", LN_CASES, ids=str)
def test_layer_norm(shape, k, backend, dtype, rng):
    p = shape[len(shape) - k:]
    check_op("layer_norm", [shape, p, p], {"normalized_ndim": k}, backend=backend, dtype=dtype, rng=rng,
             gradcheck=np.prod(shape) < 3000)


def test_layer_norm_of_one_element(backend, dtype, rng):
    # var = 0: y = beta exactly; dx is 0 up to rounding amplified by rstd = 1/sqrt(eps)
    # (FMA contraction leaves ~1 ulp of dy * gamma), so it is checked with an absolute bound.
    x, g, b = (rng.standard_normal((5, 1)).astype(dtype) for _ in range(3))
    with fd.use_backend(backend):
        y, cache = fd.layer_norm_forward(x, g[0], b[0])
        dx, dg, db = fd.layer_norm_backward(np.ones_like(y), cache)
    np.testing.assert_array_equal(y, np.repeat(b[0], 5)[:, None])
    assert np.abs(dx).max() <= 1e3 * np.finfo(dtype).eps * np.abs(g).max()
    np.testing.assert_array_equal(dg, 0)
    np.testing.assert_array_equal(db, [5])


def test_layer_norm_no_affine_and_layouts(backend, dtype, rng):
    check_op("layer_norm", [(6, 8), None, None, 1, 1e-2], {}, backend=backend, dtype=dtype, rng=rng)
    check_op("layer_norm", [(6, 8), (8,), None], {}, backend=backend, dtype=dtype, rng=rng,
             layouts={0: lambda x: np.asfortranarray(x)})
    check_op("layer_norm", [(3, 4, 5), None, (4, 5)], {"normalized_ndim": 2}, backend=backend, dtype=dtype,
             rng=rng, layouts={0: lambda x: x[::-1]})


# ---------------------------------------------------------------------------
# group_norm, instance_norm

GN_CASES = [
    ((2, 6, 4, 5), 3),
    ((2, 6, 4, 5), 1),           # one group: layer norm over (C, H, W) with per-channel gamma
    ((2, 6, 4, 5), 6),           # one channel per group: instance norm
    ((3, 8), 2),                 # no spatial dims (groups of 2 would be ill-conditioned: dx ~ 0)
    ((1, 4, 3), 2),              # batch 1
    ((70, 4, 3), 2),             # 140 rows: several rows per backward block
    ((2, 4, 33, 40), 2),         # 2640 elements per channel: flushes inside a channel
    ((0, 4, 3), 2),              # empty batch
]


@pytest.mark.parametrize("shape,groups", GN_CASES, ids=str)
def test_group_norm(shape, groups, backend, dtype, rng):
    c = shape[1]
    check_op("group_norm", [shape, groups, (c,), (c,)], {}, backend=backend, dtype=dtype, rng=rng,
             gradcheck=np.prod(shape) < 3000)


def test_group_norm_no_affine_and_layouts(backend, dtype, rng):
    check_op("group_norm", [(3, 4, 5), 2, None, None], {}, backend=backend, dtype=dtype, rng=rng)
    check_op("group_norm", [(3, 4, 5), 2, (4,), (4,), 0.5], {}, backend=backend, dtype=dtype, rng=rng,
             layouts={0: lambda x: np.asfortranarray(x)})


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 2, 7), (3, 2, 2, 2, 2), (2, 1, 40, 60)], ids=str)
def test_instance_norm(shape, backend, dtype, rng):
    c = shape[1]
    check_op("instance_norm", [shape, (c,), (c,)], {}, backend=backend, dtype=dtype, rng=rng,
             gradcheck=np.prod(shape) < 3000)
    check_op("instance_norm", [shape, None, None, 1e-3], {}, backend=backend, dtype=dtype, rng=rng,
             gradcheck=False)


# ---------------------------------------------------------------------------
# PyTorch semantics (float64)

def _torch_grads(fn, x, *params):
    torch = pytest.importorskip("torch")
    tx = torch.from_numpy(x).requires_grad_()
    tp = [torch.from_numpy(p).requires_grad_() for p in params]
    y = fn(tx, *tp)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(torch.from_numpy(dy))
    return y.detach().numpy(), dy, [tx.grad.numpy()] + [p.grad.numpy() for p in tp]


def test_against_torch(backend, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.standard_normal((3, 6, 5, 4))
    g, b = rng.standard_normal(6), rng.standard_normal(6)
    gl, bl = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    cases = [
        ("batch_norm", lambda tx, tg, tb: F.batch_norm(tx, None, None, tg, tb, training=True),
         lambda: fd.batch_norm_forward(x, g, b, None, None), (g, b)),
        ("layer_norm", lambda tx, tg, tb: F.layer_norm(tx, (5, 4), tg, tb),
         lambda: fd.layer_norm_forward(x, gl, bl, normalized_ndim=2), (gl, bl)),
        ("group_norm", lambda tx, tg, tb: F.group_norm(tx, 3, tg, tb),
         lambda: fd.group_norm_forward(x, 3, g, b), (g, b)),
        ("instance_norm", lambda tx, tg, tb: F.instance_norm(tx, weight=tg, bias=tb),
         lambda: fd.instance_norm_forward(x, g, b), (g, b)),
    ]
    for name, tfn, ffn, params in cases:
        ty, dy, tgrads = _torch_grads(tfn, x, *params)
        with fd.use_backend(backend):
            y, cache = ffn()
            grads = getattr(fd, name + "_backward")(dy, cache)
        assert rel_err(y, ty) < 1e-12, name
        grads = [gr for gr in grads if gr is not None]  # group_norm: None for num_groups
        for k, (gr, tg) in enumerate(zip(grads, tgrads)):
            assert rel_err(gr, tg) < 1e-12, (name, k)


def test_batch_norm_running_stats_match_torch(backend, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((5, 3, 4))
    rm, rv = rng.standard_normal(3), _pos(3)
    trm, trv = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
    torch.nn.functional.batch_norm(torch.from_numpy(x), trm, trv, training=True, momentum=0.3)
    with fd.use_backend(backend):
        fd.batch_norm(x, None, None, rm, rv, training=True, momentum=0.3)
    np.testing.assert_allclose(rm, trm.numpy(), rtol=1e-13)
    np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-13)


# ---------------------------------------------------------------------------
# determinism, NaN, float32 accuracy

def _run_all(x, g, b):
    c = x.shape[1]
    gl, bl = np.resize(g, x.shape[-1]), np.resize(b, x.shape[-1])
    outs = []
    for fwd, bwd in [
        (lambda: fd.batch_norm_forward(x, g, b, None, None), fd.batch_norm_backward),
        (lambda: fd.layer_norm_forward(x, gl, bl), fd.layer_norm_backward),
        (lambda: fd.group_norm_forward(x, c // 2, g, b), fd.group_norm_backward),
        (lambda: fd.instance_norm_forward(x, g, b), fd.instance_norm_backward),
        (lambda: fd.batch_norm_forward(x.reshape(-1, x.shape[-1]), gl, bl, None, None), fd.batch_norm_backward),
    ]:
        y, cache = fwd()
        outs += [y, *cache.arrays.values(), *bwd(np.cos(y), cache)]
    return [o for o in outs if o is not None]


@pytest.mark.parametrize("dtype_", [np.float32, np.float64], ids=["f32", "f64"])
def test_bit_identical_for_any_thread_count(backend, dtype_, rng):
    x = rng.standard_normal((16, 8, 24, 24)).astype(dtype_)
    g, b = rng.standard_normal(8).astype(dtype_), rng.standard_normal(8).astype(dtype_)
    with fd.use_backend(backend):
        with at_threads(1):
            one = _run_all(x, g, b)
        with at_threads(2):
            two = _run_all(x, g, b)
    for a, b_ in zip(one, two):
        np.testing.assert_array_equal(a, b_)


def test_nan_in_nan_out(backend):
    x = np.random.default_rng(0).standard_normal((4, 6, 3))
    x[1, 2, 1] = np.nan
    with fd.use_backend(backend):
        ln = fd.layer_norm(x, None, None)
        gn = fd.group_norm(x, 3, None, None)
        bn = fd.batch_norm(x, None, None, None, None)
    assert np.isnan(ln[1, 2]).all() and np.isfinite(np.delete(ln.reshape(-1, 3), 1 * 6 + 2, 0)).all()
    assert np.isnan(gn[1, 2:4]).all() and np.isfinite(gn[0]).all() and np.isfinite(gn[1, :2]).all()
    assert np.isnan(bn[:, 2]).all() and np.isfinite(bn[:, :2]).all()


def test_float32_statistics_of_long_rows(backend, rng):
    # A large mean and a long row: the float32 result stays within DESIGN's bound
    # (at most twice plain float32 NumPy's error, or 1e-5).
    x = (1000 + rng.standard_normal((2, 1 << 18))).astype(np.float32)
    with fd.use_backend(backend):
        y = fd.layer_norm(x, None, None)
    ref, _ = reference.layer_norm_forward(x.astype(np.float64), None, None)
    ref32, _ = reference.layer_norm_forward(x, None, None)
    assert rel_err(y, ref) <= max(1e-5, 2 * rel_err(ref32, ref))


# ---------------------------------------------------------------------------
# bad input

F32 = np.float32


def test_bad_param_lengths():
    x = np.ones((4, 3, 5), F32)
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\) \(C = x.shape\[1\] of x \(4, 3, 5\)\), got \(4,\)"):
        fd.batch_norm(x, np.ones(4, F32), None, None, None)
    with pytest.raises(ValueError, match=r"beta must have shape \(3,\).*got \(3, 1\)"):
        fd.group_norm(x, 3, None, np.ones((3, 1), F32))
    with pytest.raises(ValueError, match=r"running_var must have shape \(3,\).*got \(2,\)"):
        fd.batch_norm(x, None, None, np.zeros(3, F32), np.ones(2, F32))
    with pytest.raises(ValueError, match=r"gamma must have shape \(5,\) \(the last 1 dim\(s\) of x \(4, 3, 5\)\), got \(3,\)"):
        fd.layer_norm(x, np.ones(3, F32), None)
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\)"):
        fd.instance_norm(x, np.ones(5, F32), None)


def test_bad_arguments():
    x = np.ones((4, 6, 5), F32)
    with pytest.raises(ValueError, match="num_groups must be >= 1 and divide C = 6"):
        fd.group_norm(x, 4, None, None)
    with pytest.raises(ValueError, match="num_groups must be >= 1"):
        fd.group_norm(x, 0, None, None)
    with pytest.raises(TypeError, match="num_groups: expected an int"):
        fd.group_norm(x, 2.0, None, None)
    with pytest.raises(ValueError, match=r"normalized_ndim must be in \[1, x.ndim = 3\], got 4"):
        fd.layer_norm(x, None, None, normalized_ndim=4)
    with pytest.raises(ValueError, match="evaluation .* needs running_mean and running_var"):
        fd.batch_norm(x, None, None, None, None, training=False)
    with pytest.raises(ValueError, match="both running_mean and running_var"):
        fd.batch_norm(x, None, None, np.zeros(6, F32), None)
    with pytest.raises(ValueError, match="more than 1 value per channel when training"):
        fd.batch_norm(np.ones((1, 6), F32), None, None, None, None)
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        fd.instance_norm(np.ones((2, 3, 1), F32), None, None)
    with pytest.raises(ValueError, match="at least one spatial dim"):
        fd.instance_norm(np.ones((2, 3), F32), None, None)
    with pytest.raises(ValueError, match=r"x must be \(N, D\) or \(N, C, ...\)"):
        fd.batch_norm(np.ones(3, F32), None, None, None, None)
    ro_m, ro_v = np.zeros(6, F32), np.ones(6, F32)
    ro_m.flags.writeable = False
    with pytest.raises(ValueError, match="must be writeable"):
        fd.batch_norm(x, None, None, ro_m, ro_v)


def test_dtypes_and_dout():
    x = np.ones((4, 6, 5), F32)
    with pytest.raises(TypeError, match="mixed float dtypes: x float32, gamma float64"):
        fd.batch_norm(x, np.ones(6), None, None, None)
    with pytest.raises(TypeError, match="running_mean float64"):
        fd.batch_norm(x, None, None, np.zeros(6), np.ones(6, F32))
    with pytest.raises(TypeError, match="x: expected a float32 or float64 array, got int64"):
        fd.layer_norm(np.ones((2, 3), np.int64), None, None)
    y, cache = fd.group_norm_forward(x, 2, None, None)
    with pytest.raises(ValueError, match=r"dout: expected shape \(4, 6, 5\)"):
        fd.group_norm_backward(np.ones((4, 6), F32), cache)
    with pytest.raises(TypeError, match="dout: expected dtype float32"):
        fd.group_norm_backward(np.ones((4, 6, 5)), cache)


# Outputs of at least 8 MiB (kStreamMinBytes, csrc/cpu/stream.h) are written
# with streaming stores where a contiguous run has at least 1024 values
# (layer_norm's forward: runs of whole rows); odd lengths start runs at every
# alignment (unaligned heads, partial tails). Samples are independent for
# layer / group / instance norm, so samples of the big call must equal, bit
# for bit, a small call (normal stores); batch_norm is checked against the
# reference. No result may depend on the thread count.
STREAM_MIN_BYTES = 8 << 20



def _stream_case(op):
    """(inputs after x: shapes of fresh data or values, keyword params, shape of one sample)."""
    if op == "layer_norm":  # rows of >= 1024 values stream one by one
        return [None, (1027,), (1027,)], {}, (1027,)
    if op == "layer_norm_short":  # shorter rows stream the forward in runs of several rows
        return [None, (515,), (515,)], {}, (515,)
    if op == "batch_norm_features":  # (N, D): each thread's rows are one run
        return [None, (1031,), (1031,), None, None], {"training": True}, (1031,)
    sample = (6, 37, 29)  # 1073 values per channel
    if op == "group_norm":
        return [None, 3, (6,), (6,)], {}, sample
    if op == "instance_norm":
        return [None, (6,), (6,)], {}, sample
    return [None, (6,), (6,), None, None], {"training": True}, sample


@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("case", ["layer_norm", "layer_norm_short", "group_norm", "instance_norm", "batch_norm",
                                  "batch_norm_features"])
def test_streaming_stores(case, isa, dtype, rng):
    inputs, params, sample = _stream_case(case)
    op = case.removesuffix("_short").removesuffix("_features")
    n = STREAM_MIN_BYTES // (int(np.prod(sample)) * np.dtype(dtype).itemsize) + 3
    x = rng.standard_normal((n, *sample)).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    args = [rng.standard_normal(a).astype(dtype) if isinstance(a, tuple) else a for a in inputs[1:]]
    if isa == ISAS[-1]:
        check_op(op, [x, *args], params, backend="cpu", dtype=dtype, rng=rng, gradcheck=False)
    fwd, bwd = getattr(fd, op + "_forward"), getattr(fd, op + "_backward")
    outs = []
    for threads in (1, 2):
        with at_threads(threads), fd.use_backend("cpu"):
            y, cache = fwd(x, *args, **params)
            outs.append((y, *bwd(g, cache)))
            if op != "batch_norm":
                ys, cs = fwd(x[5:8], *args, **params)
                np.testing.assert_array_equal(y[5:8], ys)
                np.testing.assert_array_equal(outs[-1][1][5:8], bwd(g[5:8], cs)[0])
    for a, b in zip(outs[0], outs[1]):
        np.testing.assert_array_equal(a, b)
