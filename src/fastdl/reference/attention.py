"""Reference scaled dot-product attention (NumPy, from the formulas).

Materialises the (..., Lq, Lk) score matrix: the oracle, never the fast path.
"""

import math

import numpy as np

__all__ = ["scaled_dot_product_attention_backward", "scaled_dot_product_attention_forward"]


def _scores(q, k, mask, causal, scale):
    # q (..., Lq, D), k (..., Lk, D) -> S (..., Lq, Lk) = scale q k^T + mask, -inf where masked
    s = (q @ np.swapaxes(k, -1, -2)) * q.dtype.type(scale)
    if mask is not None:
        mask = np.asarray(mask)
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    if causal:
        lq, lk = s.shape[-2:]
        s = np.where(np.tril(np.ones((lq, lk), bool)), s, -np.inf)  # key j <= query i
    return s.astype(q.dtype, copy=False)


def scaled_dot_product_attention_forward(q, k, v, mask=None, causal=False, scale=None):
    # v (..., Lk, Dv) -> out (..., Lq, Dv); rows with every key masked give zeros
    scale = (1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0) if scale is None else scale
    s = _scores(q, k, mask, causal, scale)
    m = s.max(axis=-1, keepdims=True, initial=-np.inf)
    e = np.exp(s - np.where(np.isfinite(m), m, 0))                # (..., Lq, Lk), 0 where masked
    l = e.sum(axis=-1, keepdims=True)
    p = e / np.where(l > 0, l, 1)                                 # softmax over keys
    return p @ v, (q, k, v, p, scale)


def scaled_dot_product_attention_backward(dout, cache):
    q, k, v, p, scale = cache
    dv = np.swapaxes(p, -1, -2) @ dout                            # (..., Lk, Dv)
    dp = dout @ np.swapaxes(v, -1, -2)                            # (..., Lq, Lk)
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))          # softmax backward
    dq = (ds @ k) * q.dtype.type(scale)                           # (..., Lq, D)
    dk = (np.swapaxes(ds, -1, -2) @ q) * q.dtype.type(scale)      # (..., Lk, D)
    return dq, dk, dv
