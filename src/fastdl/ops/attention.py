"""attention family: ``scaled_dot_product_attention`` (flash-style, fused).

    out = softmax(scale * q @ k^T + mask) @ v    softmax over keys, per head

q (..., Lq, D), k (..., Lk, D), v (..., Lk, Dv) with the same leading (batch,
head) dims; out (..., Lq, Dv). The kernels never materialise the Lq x Lk
scores of a head: the forward pass keeps out and the per-query log-sum-exp,
the backward pass recomputes the probabilities tile by tile.

Backend kernels (``_cpu``, ``backends.numba_cpu``), all heads flattened to B:
    sdpa_fwd(out, lse, q, k, v, mask, mask_index, causal, scale)
        out (B, Lq, Dv), lse (B, Lq): log-sum-exp of each query's scores
    sdpa_bwd(dq, dk, dv, dout, q, k, v, mask, mask_index, out, lse, causal, scale)
q, k, v, dout, out are C-contiguous (B, L, dim). The mask reaches the kernels
additive (a bool mask becomes 0 / -inf) as a (Bm, Lq, Lk) view of the
user's mask, stride 0 along its broadcast dims, and mask_index (B,) int64
names each head's matrix; both are None without a mask.
"""

from __future__ import annotations

import math

import numpy as np

from .._alloc import empty
from .._cache import Cache
from .._dispatch import backend
from .._validate import device_of, float_array, grad_output, same_dtype

__all__ = [
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_backward",
    "scaled_dot_product_attention_forward",
]

_OP = "scaled_dot_product_attention"


def _mask_matrices(mask, batch, lq, lk, dtype):
    """mask -> (additive matrices (Bm, Lq or 1, Lk or 1), mask_index (B,)), or (None, None).

    Only the mask's own elements are stored: broadcast dims stay broadcast."""
    if mask is None:
        return None, None
    if type(mask) is not np.ndarray:
        mask = np.asarray(mask)
    target = batch + (lq, lk)
    if mask.dtype == np.bool_:
        mask = np.where(mask, dtype.type(0), dtype.type(-np.inf))
    elif mask.dtype.kind != "f":
        raise TypeError(f"mask: expected a bool or {dtype} array, got {mask.dtype}")
    elif mask.dtype != dtype:
        raise TypeError(f"mask: dtype {mask.dtype} differs from q's {dtype}; cast it (or pass a bool mask)")
    try:
        ok = mask.ndim <= len(target) and np.broadcast_shapes(mask.shape, target) == target
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"mask: shape {mask.shape} does not broadcast to {target} (..., Lq, Lk)")
    full = mask.reshape((1,) * (len(target) - mask.ndim) + mask.shape)
    mbatch = full.shape[:-2]
    n_mats = math.prod(mbatch)
    mats = np.ascontiguousarray(full).reshape((n_mats,) + full.shape[-2:])
    index = np.broadcast_to(np.arange(n_mats, dtype=np.int64).reshape(mbatch), batch)
    return mats, np.ascontiguousarray(index).reshape(-1)


def _attend(q, k, v, mask, causal, scale):
    q, k, v = float_array("q", q), float_array("k", k), float_array("v", v)
    dtype = same_dtype(q=q, k=k, v=v)
    device = device_of(q=q, k=k, v=v)
    shapes = f"q {q.shape}, k {k.shape}, v {v.shape}"
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise ValueError(f"{_OP}: q, k, v need at least 2 dims (..., L, dim); got {shapes}")
    if not q.shape[:-2] == k.shape[:-2] == v.shape[:-2]:
        raise ValueError(f"{_OP}: batch dims of q, k, v must be equal; got {shapes}")
    if k.shape[-1] != q.shape[-1]:
        raise ValueError(f"{_OP}: k's head dim must equal q's ({q.shape[-1]}); got {shapes}")
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(f"{_OP}: v needs as many keys as k ({k.shape[-2]}); got {shapes}")
    batch = q.shape[:-2]
    (lq, d), lk, dv = q.shape[-2:], k.shape[-2], v.shape[-1]
    scale = (1.0 / math.sqrt(d) if d else 1.0) if scale is None else float(scale)
    causal = bool(causal)
    mats, index = _mask_matrices(mask, batch, lq, lk, dtype)
    n = math.prod(batch)
    q3 = np.ascontiguousarray(q).reshape(n, lq, d)
    k3 = np.ascontiguousarray(k).reshape(n, lk, d)
    v3 = np.ascontiguousarray(v).reshape(n, lk, dv)
    out = empty(batch + (lq, dv), dtype, q)
    lse = empty((n, lq), dtype, q)
    view = None if mats is None else np.broadcast_to(mats, (len(mats), lq, lk))
    backend(_OP, device, dtype).sdpa_fwd(out.reshape(n, lq, dv), lse, q3, k3, v3, view, index, causal, scale)
    arrays = {"q": q3, "k": k3, "v": v3, "out": out, "lse": lse, "mask": mats, "mask_index": index}
    return out, arrays, dict(causal=causal, scale=scale, shapes=(q.shape, k.shape, v.shape))


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None):
    """softmax(scale q k^T + mask) v over the last two dims; scale defaults to 1/sqrt(D).

    mask: bool (True = attend) or additive float (q's dtype), broadcastable
    to (..., Lq, Lk). causal: query i sees keys j <= i (torch's is_causal,
    top-left aligned); it may be combined with a mask. A query that sees no
    key at all gets a zero output row (not NaN) and zero gradients.
    """
    return _attend(q, k, v, mask, causal, scale)[0]


def scaled_dot_product_attention_forward(q, k, v, mask=None, causal=False, scale=None):
    """(out, cache); the cache keeps q, k, v, mask, out and one log-sum-exp per query."""
    out, arrays, params = _attend(q, k, v, mask, causal, scale)
    return out, Cache(_OP, arrays, **params)


def scaled_dot_product_attention_backward(dout, cache):
    """(dq, dk, dv); the mask gets no gradient."""
    a, params = cache.arrays, cache.params
    q3, k3, v3, out, lse, mats = a["q"], a["k"], a["v"], a["out"], a["lse"], a["mask"]
    q_shape, k_shape, v_shape = params["shapes"]
    n, lq, lk = q3.shape[0], q3.shape[1], k3.shape[1]
    dout = grad_output("dout", dout, out.shape, q3.dtype)
    dout3 = np.ascontiguousarray(dout).reshape(n, lq, v3.shape[2])
    dq, dk, dv = (empty(s, q3.dtype, q3) for s in (q_shape, k_shape, v_shape))
    view = None if mats is None else np.broadcast_to(mats, (len(mats), lq, lk))
    backend(_OP, "cpu" if type(q3) is np.ndarray else "gpu", q3.dtype).sdpa_bwd(
        dq.reshape(q3.shape), dk.reshape(k3.shape), dv.reshape(v3.shape), dout3, q3, k3, v3,
        view, a["mask_index"], out.reshape(n, lq, v3.shape[2]), lse, params["causal"], params["scale"])
    return dq, dk, dv
