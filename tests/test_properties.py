"""Property tests (hypothesis) for matmul on every CPU backend: random shapes
and values against the float64 reference, and NaN/Inf propagating as the
formula says. test_properties_layers.py holds the layer families'.

Profiles (tests/conftest.py): "default" runs 40 examples per test; CI sets
HYPOTHESIS_PROFILE=ci for 15. The `slow` marker holds the expensive ones.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastdl as fd
from fastdl import reference
from helpers import rel_err, tolerance

dims = st.integers(0, 9)


@st.composite
def matmul_operands(draw):
    m, k, n = draw(dims), draw(dims), draw(dims)
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    # Each operand keeps a random subset of the batch dims as 1 or drops leading dims.
    def operand_batch():
        drop = draw(st.integers(0, len(batch)))
        return tuple(1 if draw(st.booleans()) else s for s in batch[drop:])
    a_shape = operand_batch() + (m, k) if draw(st.booleans()) or k == 0 else (k,)
    b_shape = operand_batch() + (k, n) if draw(st.booleans()) or k == 0 else (k,)
    if len(a_shape) == 1 and len(b_shape) == 1:
        b_shape = (k, n)
    return a_shape, b_shape


@given(matmul_operands(), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**31))
def test_matmul_random_broadcasting(backend, shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shapes[0]).astype(dtype)
    b = rng.standard_normal(shapes[1]).astype(dtype)
    with fd.use_backend(backend):
        out, cache = fd.matmul_forward(a, b)
        grads = fd.matmul_backward(dout := rng.standard_normal(out.shape).astype(dtype), cache)
    ref, ref_cache = reference.matmul_forward(a.astype(np.float64), b.astype(np.float64))
    ref32, ref_cache32 = reference.matmul_forward(a.astype(np.float32), b.astype(np.float32))
    assert out.shape == ref.shape and out.dtype == dtype
    # DESIGN's bound (helpers.tolerance): an output of one or two dot products
    # cancels at random, so a fixed 1e-5 fails rare draws (a (1,) dx of k = 3).
    assert rel_err(out, ref) <= tolerance(dtype, ref, ref32)
    refs = reference.matmul_backward(dout.astype(np.float64), ref_cache)
    refs32 = reference.matmul_backward(dout.astype(np.float32), ref_cache32)
    for g, r, r32 in zip(grads, refs, refs32):
        assert g.shape == r.shape and rel_err(g, r) <= tolerance(dtype, r, r32)


@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**31),
       st.sampled_from([np.nan, np.inf, -np.inf]))
def test_matmul_nonfinite_propagates_like_numpy(backend, m, k, n, seed, bad):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k))
    b = rng.standard_normal((k, n))
    a[rng.integers(m), rng.integers(k)] = bad
    with fd.use_backend(backend):
        out = fd.matmul(a, b)
    want = a @ b
    np.testing.assert_array_equal(np.isnan(out), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(out), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(out), np.isneginf(want))


@pytest.mark.slow
@given(st.integers(1, 300), st.integers(1, 300), st.integers(1, 300), st.integers(0, 2**31))
def test_gemm_paths_random_sizes(m, k, n, seed):
    # Sizes across the small/packed boundary and every tile edge.
    rng = np.random.default_rng(seed)
    a = rng.integers(-4, 5, (m, k)).astype(np.float32)
    b = rng.integers(-4, 5, (k, n)).astype(np.float32)
    np.testing.assert_array_equal(fd.matmul(a, b), (a.astype(np.int64) @ b.astype(np.int64)).astype(np.float32))
