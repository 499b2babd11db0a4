"""scaled_dot_product_attention: every backend x dtype against the reference and gradcheck."""

import re

import numpy as np
import pytest

import fastdl as fd
from fastdl import _cpu
from helpers import _sdpa_magnitudes, at_threads, check_op, grad_tolerance, ISAS, rel_err

OP = "scaled_dot_product_attention"


def qkv(batch, lq, lk, d, dv):
    return [batch + (lq, d), batch + (lk, d), batch + (lk, dv)]


# (batch dims, Lq, Lk, D, Dv, causal): tiles are 96 queries x 96 keys on AVX-512
# (multiples of the micro-tile on other ISAs), so 95/96/97 and 200+ cross tile edges.
CASES = [
    ((2, 3), 16, 16, 8, 8, False),
    ((2,), 5, 7, 4, 6, False),            # Lq != Lk, Dv != D
    ((), 5, 6, 4, 3, False),              # no batch dims
    ((1, 2, 3), 9, 4, 5, 7, False),       # three batch dims, batch 1
    ((1,), 1, 1, 1, 1, False),
    ((2,), 97, 95, 33, 17, False),        # odd sizes around one tile
    ((1,), 200, 193, 16, 40, False),      # several tiles, partial last ones
    ((2,), 16, 16, 8, 8, True),
    ((2,), 7, 12, 4, 5, True),            # causal, Lq < Lk: top-left aligned
    ((2,), 12, 7, 4, 5, True),            # causal, Lq > Lk: late rows see every key
    ((1,), 250, 300, 16, 24, True),       # skipped, diagonal and full tiles
    ((1,), 300, 200, 16, 24, True),
]


@pytest.mark.parametrize("batch,lq,lk,d,dv,causal", CASES, ids=str)
def test_sdpa(batch, lq, lk, d, dv, causal, backend, dtype, rng):
    check_op("scaled_dot_product_attention", qkv(batch, lq, lk, d, dv), {"causal": causal},
             backend=backend, dtype=dtype, rng=rng)


@pytest.mark.parametrize("scale", [0.3, -1.5, 0.0])
def test_sdpa_scale(scale, backend, dtype, rng):
    check_op("scaled_dot_product_attention", qkv((2,), 10, 12, 6, 5), {"scale": scale},
             backend=backend, dtype=dtype, rng=rng)


def test_sdpa_large_scores(backend, dtype, rng):
    # Scores in the hundreds: exp overflows without the running max.
    q = 30 * rng.standard_normal((2, 40, 16))
    check_op("scaled_dot_product_attention", [q, (2, 130, 16), (2, 130, 8)],
             backend=backend, dtype=dtype, rng=rng, gradcheck=False)


def test_sdpa_peaked_rows(backend, dtype, rng):
    # Nearly one-hot softmax rows: dq and dk cancel (helpers.COND_C), the
    # case where only the condition-aware bound is a fair float32 test.
    q = 3 * rng.standard_normal((4, 2, 7))
    check_op("scaled_dot_product_attention", [q, (4, 3, 7), (4, 3, 2)], {"causal": True, "scale": 1.0},
             backend=backend, dtype=dtype, rng=rng, gradcheck=False)


def test_condition_bound_still_catches_wrong_gradients(rng):
    # On peaked rows the bound widens, but stays far below a real error: the
    # softmax's delta term dropped, or key 0's gradient terms lost. Query 1
    # (causal: keys 0, 1) has its score gap set to +-7, so max P = 1 - 9e-4
    # (the widening is ~1e3 eps; query 0 sees one key, its dS is 0).
    from fastdl import reference
    k, v = rng.standard_normal((4, 3, 7)), rng.standard_normal((4, 3, 2))
    q = rng.standard_normal((4, 2, 7))
    u = k[:, 0] - k[:, 1]
    q[:, 1] -= ((q[:, 1] * u).sum(-1) / (u * u).sum(-1))[:, None] * u  # orthogonal to k0 - k1
    q[:, 1] += (7 * rng.choice([-1, 1], 4) / (u * u).sum(-1))[:, None] * u  # s0 - s1 = +-7
    out, cache = reference.scaled_dot_product_attention_forward(q, k, v, causal=True, scale=1.0)
    dout = rng.standard_normal(out.shape)
    dq, dk, _ = reference.scaled_dot_product_attention_backward(dout, cache)
    _, c32 = reference.scaled_dot_product_attention_forward(*(a.astype(np.float32) for a in (q, k, v)),
                                                           causal=True, scale=1.0)
    dq32, dk32, _ = reference.scaled_dot_product_attention_backward(dout.astype(np.float32), c32)
    mq, mk, _ = _sdpa_magnitudes(dout, out, cache)
    p = cache[3]
    dp = dout @ np.swapaxes(v, -1, -2)
    ds = p * (dp - (p * dp).sum(-1, keepdims=True))
    wrong = {
        "delta dropped": ((p * dp) @ k, np.swapaxes(p * dp, -1, -2) @ q),
        "key 0 lost": (ds[..., 1:] @ k[..., 1:, :], dk * [[[0], [1], [1]]]),
    }
    for dtype in (np.float32, np.float64):
        tol_q, tol_k = grad_tolerance(dtype, dq, dq32, mq), grad_tolerance(dtype, dk, dk32, mk)
        for name, (bad_q, bad_k) in wrong.items():
            assert rel_err(bad_q, dq) > 10 * tol_q, name
            assert rel_err(bad_k, dk) > 10 * tol_k, name


MASKS = {  # name: (q batch, Lq, Lk, mask maker(rng))
    "bool (Lq, Lk)": ((2, 3), 20, 30, lambda r: r.random((20, 30)) > 0.3),
    "bool key padding (B, 1, 1, Lk)": ((2, 3), 20, 110, lambda r: r.random((2, 1, 1, 110)) > 0.2),
    "bool per head (B, H, Lq, Lk)": ((2, 3), 20, 30, lambda r: r.random((2, 3, 20, 30)) > 0.5),
    "bool (H, 1, Lk) broadcast over batch": ((2, 3), 20, 30, lambda r: r.random((3, 1, 30)) > 0.5),
    "float additive (Lq, Lk)": ((2,), 100, 120, lambda r: r.standard_normal((100, 120))),
    "float additive per head": ((2, 2), 20, 30, lambda r: r.standard_normal((2, 2, 20, 30))),
    "float with -inf (Lq, 1)": ((2,), 20, 30, lambda r: np.where(r.random((20, 1)) > 0.5, 0.0, -np.inf)),
    "bool transposed view (Lk, Lq).T": ((2,), 20, 30, lambda r: (r.random((30, 20)) > 0.3).T),
    "float (1, Lk) with -inf": ((2,), 20, 30,
                                lambda r: np.where(r.random((1, 30)) > 0.3, r.standard_normal((1, 30)), -np.inf)),
}


@pytest.mark.parametrize("name", MASKS, ids=str)
def test_sdpa_mask(name, backend, dtype, rng):
    batch, lq, lk, make = MASKS[name]
    check_op("scaled_dot_product_attention", qkv(batch, lq, lk, 8, 6) + [make(rng)],
             backend=backend, dtype=dtype, rng=rng)


def test_sdpa_mask_and_causal(backend, dtype, rng):
    mask = rng.random((2, 1, 130, 150)) > 0.4
    check_op("scaled_dot_product_attention", qkv((2, 2), 130, 150, 8, 8) + [mask], {"causal": True},
             backend=backend, dtype=dtype, rng=rng)


def test_fully_masked_rows_give_zeros(backend, dtype, rng):
    # Rows 3 and 130 see no key: output and dq rows are zeros (torch's math path gives NaN).
    q, k, v = (rng.standard_normal(s).astype(dtype) for s in qkv((2,), 140, 100, 8, 6))
    mask = rng.random((140, 100)) > 0.5
    mask[[3, 130]] = False
    with fd.use_backend(backend):
        out, cache = fd.scaled_dot_product_attention_forward(q, k, v, mask)
        dq, dk, dv = fd.scaled_dot_product_attention_backward(np.ones_like(out), cache)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dq))
    assert not out[:, [3, 130]].any() and not dq[:, [3, 130]].any()
    assert out[:, 4].any()
    check_op("scaled_dot_product_attention", [q, k, v, mask], backend=backend, dtype=dtype, rng=rng)


def test_nan_propagates(backend, dtype, rng):
    # A NaN in q row 5 makes that output row NaN (never a silent zero row); other rows stay finite.
    q, k, v = (rng.standard_normal(s).astype(dtype) for s in qkv((1,), 120, 100, 8, 6))
    q[0, 5, 2] = np.nan
    with fd.use_backend(backend):
        out = fd.scaled_dot_product_attention(q, k, v, rng.random((120, 100)) > 0.5)
    assert np.isnan(out[0, 5]).all()
    assert np.isfinite(np.delete(out[0], 5, axis=0)).all()


def test_every_key_masked_and_no_keys(backend, dtype, rng):
    mask = np.zeros((5, 7), bool)
    check_op("scaled_dot_product_attention", qkv((2,), 5, 7, 4, 3) + [mask], backend=backend, dtype=dtype, rng=rng)


@pytest.mark.parametrize("batch,lq,lk,d,dv", [((0, 3), 5, 6, 4, 4), ((2,), 0, 6, 4, 4), ((2,), 5, 0, 4, 4),
                                               ((2,), 5, 6, 0, 4), ((2,), 5, 6, 4, 0)], ids=str)
def test_sdpa_empty(batch, lq, lk, d, dv, backend, dtype, rng):
    q, k, v = (rng.standard_normal(s).astype(dtype) for s in qkv(batch, lq, lk, d, dv))
    with fd.use_backend(backend):
        out, cache = fd.scaled_dot_product_attention_forward(q, k, v)
        grads = fd.scaled_dot_product_attention_backward(np.ones_like(out), cache)
    ref, ref_cache = fd.reference.scaled_dot_product_attention_forward(q, k, v)
    ref_grads = fd.reference.scaled_dot_product_attention_backward(np.ones_like(ref), ref_cache)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    for g, r in zip(grads, ref_grads):
        assert g.shape == r.shape and g.dtype == dtype
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)


def test_self_attention_one_array(backend, dtype, rng):
    # q, k and v the same array (self-attention without projections).
    x = rng.standard_normal((2, 3, 40, 8)).astype(dtype)
    check_op("scaled_dot_product_attention", [x, x, x], {"causal": True}, backend=backend, dtype=dtype, rng=rng)


def test_read_only_inputs(backend, rng):
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in qkv((2,), 10, 12, 4, 4))
    mask = rng.random((10, 12)) > 0.5
    for a in (q, k, v, mask):
        a.flags.writeable = False
    with fd.use_backend(backend):
        out, cache = fd.scaled_dot_product_attention_forward(q, k, v, mask)
        fd.scaled_dot_product_attention_backward(np.ones_like(out), cache)
    ref, _ = fd.reference.scaled_dot_product_attention_forward(q, k, v, mask)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


LAYOUTS = {
    "transposed q, k": {0: lambda x: np.ascontiguousarray(x.swapaxes(-1, -2)).swapaxes(-1, -2),
                        1: lambda x: np.ascontiguousarray(x.swapaxes(-1, -2)).swapaxes(-1, -2)},
    "heads-last v (B, L, H, Dv) view":
        {2: lambda x: np.ascontiguousarray(x.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)},
    "strided": {0: lambda x: np.repeat(x, 2, axis=-1)[..., ::2], 2: lambda x: x[::-1].copy()[::-1]},
    "fortran": {0: np.asfortranarray, 1: np.asfortranarray, 2: np.asfortranarray},
}


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
def test_sdpa_layouts(layout, backend, dtype, rng):
    check_op("scaled_dot_product_attention", qkv((2, 3), 20, 25, 8, 6), backend=backend, dtype=dtype, rng=rng,
             layouts=LAYOUTS[layout], gradcheck=False)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_every_isa(isa, causal, dtype, rng):
    # Tile sizes follow the micro-kernel of each ISA: check each against the reference.
    old = _cpu.isa()
    _cpu._set_isa(isa)
    try:
        check_op("scaled_dot_product_attention", qkv((2,), 150, 210, 24, 20) + [rng.random((150, 1)) > 0.1],
                 {"causal": causal}, backend="cpu", dtype=dtype, rng=rng, gradcheck=False)
    finally:
        _cpu._set_isa(old)


# On 2 threads batch 1 takes the two-pass backward, batch 3 and 8 the one-pass one.
@pytest.mark.parametrize("batch,causal,masked",
                         [(1, False, False), (1, True, False), (3, True, True), (8, False, True)], ids=str)
def test_sdpa_same_bits_for_any_thread_count(batch, causal, masked, backend, dtype, rng):
    q, k, v = (rng.standard_normal(s).astype(dtype) for s in qkv((batch,), 300, 250, 16, 12))
    mask = rng.standard_normal((batch, 1, 250)).astype(dtype) if masked else None
    dout = rng.standard_normal((batch, 300, 12)).astype(dtype)
    results = []
    for threads in (1, 2):
        with at_threads(threads):
            with fd.use_backend(backend):
                out, cache = fd.scaled_dot_product_attention_forward(q, k, v, mask, causal)
                results.append((out, *fd.scaled_dot_product_attention_backward(dout, cache)))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_cache_keeps_no_scores(rng):
    # Forward saves out and one log-sum-exp per query: O(L), never Lq x Lk.
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in qkv((2, 4), 512, 512, 64, 64))
    out, cache = fd.scaled_dot_product_attention_forward(q, k, v, causal=True)
    assert cache.nbytes == q.nbytes + k.nbytes + v.nbytes + out.nbytes + 2 * 4 * 512 * 4


# ---------------------------------------------------------------------------
# bad input

F = np.float32


@pytest.mark.parametrize("q,k,v,msg", [
    ((2, 5, 4), (2, 6, 3), (2, 6, 3),
     r"k's head dim must equal q's \(4\); got q \(2, 5, 4\), k \(2, 6, 3\), v \(2, 6, 3\)"),
    ((2, 5, 4), (3, 6, 4), (3, 6, 4), r"batch dims of q, k, v must be equal; got q \(2, 5, 4\), k \(3, 6, 4\)"),
    ((2, 5, 4), (2, 6, 4), (1, 6, 4), r"batch dims of q, k, v must be equal"),
    ((2, 5, 4), (2, 6, 4), (2, 7, 4), r"v needs as many keys as k \(6\); got .* v \(2, 7, 4\)"),
    ((4,), (6, 4), (6, 4), r"at least 2 dims"),
])
def test_sdpa_shape_errors(q, k, v, msg):
    with pytest.raises(ValueError, match=msg):
        fd.scaled_dot_product_attention(np.ones(q, F), np.ones(k, F), np.ones(v, F))


@pytest.mark.parametrize("mask", [np.ones((5, 7), bool), np.ones((3, 5, 6), bool), np.ones((1, 1, 2, 5, 6), bool),
                                  np.ones(6, bool)[None, None, None, :].repeat(2, 0)], ids=lambda m: str(m.shape))
def test_sdpa_mask_not_broadcastable(mask):
    q = np.ones((2, 5, 4), F)
    with pytest.raises(ValueError, match=re.escape(f"mask: shape {mask.shape} does not broadcast to (2, 5, 6)")):
        fd.scaled_dot_product_attention(q, np.ones((2, 6, 4), F), np.ones((2, 6, 4), F), mask)


def test_sdpa_dtype_errors():
    q, k, v = np.ones((2, 5, 4), F), np.ones((2, 6, 4), F), np.ones((2, 6, 4), F)
    with pytest.raises(TypeError, match="mixed float dtypes: q float32, k float64, v float32"):
        fd.scaled_dot_product_attention(q, k.astype(np.float64), v)
    with pytest.raises(TypeError, match="mask: dtype float64 differs from q's float32"):
        fd.scaled_dot_product_attention(q, k, v, np.zeros((5, 6)))
    with pytest.raises(TypeError, match="mask: expected a bool or float32 array, got int64"):
        fd.scaled_dot_product_attention(q, k, v, np.zeros((5, 6), np.int64))
    with pytest.raises(TypeError, match="q: expected a float32 or float64 array, got int64"):
        fd.scaled_dot_product_attention(np.ones((2, 5, 4), np.int64), k, v)


def test_sdpa_backward_checks_dout():
    out, cache = fd.scaled_dot_product_attention_forward(np.ones((2, 5, 4), F), np.ones((2, 6, 4), F),
                                                         np.ones((2, 6, 3), F))
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 5, 3\) \(the forward output\), got \(2, 5, 4\)"):
        fd.scaled_dot_product_attention_backward(np.ones((2, 5, 4), F), cache)
    with pytest.raises(TypeError, match="dout: expected dtype float32"):
        fd.scaled_dot_product_attention_backward(np.ones((2, 5, 3)), cache)


def test_sdpa_native_binding_checks():
    q, k, v = np.ones((2, 5, 4), F), np.ones((2, 6, 4), F), np.ones((2, 6, 3), F)
    out, lse = np.empty((2, 5, 3), F), np.empty((2, 5), F)
    with pytest.raises(ValueError, match="out has the wrong shape"):
        _cpu.sdpa_fwd(np.empty((2, 5, 4), F), lse, q, k, v, None, None, False, 1.0)
    with pytest.raises(ValueError, match="k has the wrong shape or is not C-contiguous"):
        _cpu.sdpa_fwd(out, lse, q, np.asfortranarray(k), v, None, None, False, 1.0)
    with pytest.raises(TypeError, match="v: dtype float64 differs"):
        _cpu.sdpa_fwd(out, lse, q, k, v.astype(np.float64), None, None, False, 1.0)
    mask = np.zeros((1, 5, 6), F)
    with pytest.raises(ValueError, match="mask_index out of range"):
        _cpu.sdpa_fwd(out, lse, q, k, v, mask, np.array([0, 1]), False, 1.0)
    with pytest.raises(ValueError, match="needs mask_index"):
        _cpu.sdpa_fwd(out, lse, q, k, v, mask, None, False, 1.0)
