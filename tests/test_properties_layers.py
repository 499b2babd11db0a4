"""Property tests (hypothesis) for the layer families: random shapes and
hyper-parameters for conv2d, conv_transpose2d, pooling, upsampling,
attention masks and norm axes, on every CPU backend, forward and backward
against the float64 reference (tests/helpers.py::check_op, which also
poisons outputs, checks dtypes and input immutability, and runs gradcheck
in float64); NaN and Inf propagate as the formulas say.

test_properties.py holds matmul's. Profiles: tests/conftest.py ("ci": 15
examples, derandomised).
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import fastdl as fd
from fastdl import reference
from helpers import check_op

dtypes = st.sampled_from([np.float32, np.float64])
seeds = st.integers(0, 2**32 - 1)


# Tiny random shapes reach ill-conditioned float32 gradients that fixed-shape
# tests do not (a peaked softmax over two keys, where dP - delta cancels):
# check_op bounds those by their condition (tests/helpers.py, COND_C), so
# every case here keeps DESIGN's bounds (float32 1e-5 floor and 2 x NumPy,
# float64 1e-12 and the gradient check). HYPOTHESIS_PROFILE=stress (2000
# examples per test) looks for rare failing draws.


def _check(op, inputs, params, backend, dtype, seed):
    check_op(op, inputs, params, backend=backend, dtype=dtype, rng=np.random.default_rng(seed),
             gradcheck=dtype == np.float64)


def _span(k, d):
    return d * (k - 1) + 1


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    assume(_span(kh, dilation[0]) <= h + 2 * padding[0] and _span(kw, dilation[1]) <= w + 2 * padding[1])
    bias = draw(st.booleans())
    x = (draw(st.integers(1, 3)), cin, h, w)
    wt = (cout, cin // groups, kh, kw)
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return [x, wt] + ([(cout,)] if bias else []), params


@given(conv_cases(), dtypes, seeds)
def test_conv2d_random(backend, case, dtype, seed):
    inputs, params = case
    _check("conv2d", inputs, params, backend, dtype, seed)


@st.composite
def conv_transpose_cases(draw):
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    oh = (h - 1) * stride[0] - 2 * padding[0] + _span(kh, dilation[0]) + output_padding[0]
    ow = (w - 1) * stride[1] - 2 * padding[1] + _span(kw, dilation[1]) + output_padding[1]
    assume(oh >= 1 and ow >= 1)
    bias = draw(st.booleans())
    x = (draw(st.integers(1, 3)), cin, h, w)
    wt = (cin, cout // groups, kh, kw)
    params = {"stride": stride, "padding": padding, "output_padding": output_padding, "dilation": dilation,
              "groups": groups}
    return [x, wt] + ([(cout,)] if bias else []), params


@given(conv_transpose_cases(), dtypes, seeds)
def test_conv_transpose2d_random(backend, case, dtype, seed):
    inputs, params = case
    _check("conv_transpose2d", inputs, params, backend, dtype, seed)


@st.composite
def pool_cases(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    h, w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    assume(k[0] <= h + 2 * padding[0] and k[1] <= w + 2 * padding[1])
    x = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    return x, {"kernel_size": k, "stride": stride, "padding": padding}


@given(pool_cases(), st.sampled_from(["first", "split"]), dtypes, seeds)
def test_max_pool2d_random(backend, case, ties, dtype, seed):
    x, params = case
    _check("max_pool2d", [x], {**params, "ties": ties}, backend, dtype, seed)


@given(pool_cases(), st.booleans(), dtypes, seeds)
def test_avg_pool2d_random(backend, case, count_include_pad, dtype, seed):
    x, params = case
    _check("avg_pool2d", [x], {**params, "count_include_pad": count_include_pad}, backend, dtype, seed)


@st.composite
def upsample_cases(draw):
    mode = draw(st.sampled_from(["nearest", "bilinear", "bicubic"]))
    align = mode != "nearest" and draw(st.booleans())
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    if draw(st.booleans()):
        size = {"size": (draw(st.integers(1, 13)), draw(st.integers(1, 13)))}
    else:
        scale = draw(st.sampled_from([1, 2, 3, 0.5, 1.5, 2.25]))
        assume(int(h * scale) >= 1 and int(w * scale) >= 1)
        size = {"scale_factor": scale}
    x = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    return x, {**size, "mode": mode, "align_corners": align}


@given(upsample_cases(), dtypes, seeds)
def test_upsample2d_random(backend, case, dtype, seed):
    x, params = case
    _check("upsample2d", [x], params, backend, dtype, seed)


@st.composite
def attention_cases(draw):
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    lq, lk = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    d, dv = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    inputs = [batch + (lq, d), batch + (lk, d), batch + (lk, dv)]
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    params = {}
    if draw(st.booleans()):
        params["scale"] = draw(st.floats(0.05, 2.0))
    if kind == "causal":
        params["causal"] = True
    elif kind != "none":
        # A mask broadcastable to (..., lq, lk): batch dims dropped or set to 1, rows or columns of 1.
        mb = tuple(1 if draw(st.booleans()) else s for s in batch[draw(st.integers(0, len(batch))):])
        shape = mb + (1 if draw(st.booleans()) else lq, 1 if draw(st.booleans()) else lk)
        rng = np.random.default_rng(draw(seeds))
        if kind == "bool":
            inputs.append(rng.random(shape) < draw(st.sampled_from([0.5, 0.8, 1.0])))  # some rows fully masked
        else:
            inputs.append(np.where(rng.random(shape) < 0.2, -np.inf, rng.standard_normal(shape)))
    return inputs, params


@given(attention_cases(), dtypes, seeds)
def test_attention_masks_random(backend, case, dtype, seed):
    inputs, params = case
    _check("scaled_dot_product_attention", inputs, params, backend, dtype, seed)


@st.composite
def norm_cases(draw):
    op = draw(st.sampled_from(["layer_norm", "group_norm", "instance_norm", "batch_norm"]))
    ndim = draw(st.integers(2 if op in ("layer_norm", "batch_norm") else 3, 4))
    shape = tuple(draw(st.integers(1, 6)) for _ in range(ndim))
    affine = draw(st.booleans())
    c = shape[1]
    if op == "layer_norm":
        nd = draw(st.integers(1, ndim - 1))
        gb = [shape[-nd:], shape[-nd:]] if affine else [None, None]
        return op, [shape, *gb], {"normalized_ndim": nd}
    if op == "group_norm":
        groups = draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
        gb = [(c,), (c,)] if affine else [None, None]
        return op, [shape, groups, *gb], {}
    gb = [(c,), (c,)] if affine else [None, None]
    if op == "instance_norm":
        return op, [shape, *gb], {}
    return op, [shape, *gb, None, None], {"training": True}


def _normalised_count(op, inputs, params):
    shape = inputs[0]
    if op == "layer_norm":
        return int(np.prod(shape[-params["normalized_ndim"]:]))
    if op == "group_norm":
        return shape[1] // inputs[1] * int(np.prod(shape[2:]))
    if op == "instance_norm":
        return int(np.prod(shape[2:]))
    return shape[0] * int(np.prod(shape[2:]))  # batch_norm


@given(norm_cases(), dtypes, seeds)
def test_norm_axes_random(backend, case, dtype, seed):
    op, inputs, params = case
    # Over 2 values the output is +-1 (up to eps) and dx is a difference of
    # nearly equal terms: ill-conditioned in any formulation. 3 and up are not.
    assume(_normalised_count(op, inputs, params) >= 3)
    _check(op, inputs, params, backend, dtype, seed)


# ---------------------------------------------------------------------------
# NaN and Inf: a non-finite input reaches exactly the outputs whose formula
# reads it (the float64 reference, which is plain NumPy, says which).

def _same_nonfinite(out, ref):
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    np.testing.assert_array_equal(np.isposinf(out), np.isposinf(ref))
    np.testing.assert_array_equal(np.isneginf(out), np.isneginf(ref))


@given(conv_cases(), st.sampled_from([np.nan, np.inf, -np.inf]), seeds)
def test_conv2d_nonfinite_propagates(backend, case, bad, seed):
    inputs, params = case
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s) for s in inputs]
    xs[0][tuple(rng.integers(0, n) for n in xs[0].shape)] = bad
    with fd.use_backend(backend):
        out = fd.conv2d(*xs, **params)
    _same_nonfinite(out, reference.conv2d_forward(*xs, **params)[0])


@given(pool_cases(), st.sampled_from([np.nan, np.inf, -np.inf]), seeds)
def test_pool_nonfinite_propagates(backend, case, bad, seed):
    x_shape, params = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape)
    x[tuple(rng.integers(0, n) for n in x_shape)] = bad
    with fd.use_backend(backend):
        outs = fd.max_pool2d(x, **params), fd.avg_pool2d(x, **params)
    _same_nonfinite(outs[0], reference.max_pool2d_forward(x, **params)[0])
    _same_nonfinite(outs[1], reference.avg_pool2d_forward(x, **params)[0])


@pytest.mark.parametrize("op", ["layer_norm", "instance_norm"])
def test_norm_nan_stays_in_its_group(backend, op, rng):
    x = rng.standard_normal((3, 4, 5))
    x[1, 2, 3] = np.nan
    with fd.use_backend(backend):
        out = getattr(fd, op)(x, None, None)
    _same_nonfinite(out, getattr(reference, op + "_forward")(x, None, None)[0])
