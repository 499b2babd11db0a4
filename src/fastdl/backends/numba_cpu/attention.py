"""Numba kernels of the attention family (contract: fastdl/ops/attention.py).

Same semantics as the C++ kernels, simpler schedule: one query row at a time
against tiles of keys (online softmax) in the forward pass; the backward
pass recomputes the probabilities in two passes, one split by key tiles (dk,
dv) and one by query tiles (dq), each sum in a fixed order.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["sdpa_bwd", "sdpa_fwd"]

_TILE = 32  # queries per forward / dq task, keys per dk-dv task and per score tile


@njit(inline="always")
def _score(q, k, mask, mask_index, has_mask, causal, scale, b, i, j):
    # scale q[b, i] . k[b, j] + mask, -inf when key j follows query i (causal)
    if causal and j > i:
        return -np.inf
    s = q.dtype.type(0)
    for p in range(q.shape[2]):
        s += q[b, i, p] * k[b, j, p]
    s *= scale
    if has_mask:
        s += mask[mask_index[b], i, j]
    return s


@njit(parallel=True, cache=True)
def _fwd(out, lse, q, k, v, mask, mask_index, has_mask, causal, scale):
    # out (B, lq, dv), lse (B, lq); q (B, lq, d), k (B, lk, d), v (B, lk, dv)
    n, lq, lk, dv = q.shape[0], q.shape[1], k.shape[1], v.shape[2]
    scale = q.dtype.type(scale)
    n_qt = (lq + _TILE - 1) // _TILE
    for task in prange(n * n_qt):
        b, i0 = task // n_qt, (task % n_qt) * _TILE
        s = np.empty(_TILE, q.dtype)
        acc = np.empty(dv, q.dtype)
        for i in range(i0, min(i0 + _TILE, lq)):
            rmax, rsum = -np.inf, q.dtype.type(0)
            acc[:] = 0
            kend = min(lk, i + 1) if causal else lk
            for j0 in range(0, kend, _TILE):
                nc = min(_TILE, kend - j0)
                mx = rmax
                for c in range(nc):
                    s[c] = _score(q, k, mask, mask_index, has_mask, causal, scale, b, i, j0 + c)
                    mx = max(mx, s[c])
                base = 0.0 if mx == -np.inf else mx
                corr = math.exp(rmax - base)
                rsum *= corr
                for e in range(dv):
                    acc[e] *= corr
                for c in range(nc):
                    pc = math.exp(s[c] - base)
                    rsum += pc
                    for e in range(dv):
                        acc[e] += pc * v[b, j0 + c, e]
                rmax = mx
            if rmax == -np.inf and rsum == rsum:  # every key masked (a NaN score makes rsum NaN)
                out[b, i, :] = 0
                lse[b, i] = -np.inf
            else:
                for e in range(dv):
                    out[b, i, e] = acc[e] / rsum
                lse[b, i] = rmax + math.log(rsum)


@njit(inline="always")
def _prob_grad(q, k, v, mask, mask_index, has_mask, causal, scale, dout, lse, delta, b, i, j):
    # (P[i, j], dS[i, j]) recomputed from the forward's lse
    if lse[b, i] == -np.inf:
        return 0.0, 0.0
    p = math.exp(_score(q, k, mask, mask_index, has_mask, causal, scale, b, i, j) - lse[b, i])
    dp = q.dtype.type(0)
    for e in range(v.shape[2]):
        dp += dout[b, i, e] * v[b, j, e]
    return p, p * (dp - delta[b, i])


@njit(parallel=True, cache=True)
def _bwd(dq, dk, dv, dout, q, k, v, mask, mask_index, has_mask, causal, scale, out, lse):
    n, lq, d = q.shape
    lk, dvn = k.shape[1], v.shape[2]
    scale = q.dtype.type(scale)
    delta = np.empty((n, lq), q.dtype)  # rowsum(dout * out)
    for r in prange(n * lq):
        b, i = r // lq, r % lq
        s = q.dtype.type(0)
        for e in range(dvn):
            s += dout[b, i, e] * out[b, i, e]
        delta[b, i] = s
    n_kt = (lk + _TILE - 1) // _TILE
    for task in prange(n * n_kt):  # dk, dv: queries in order
        b, j0 = task // n_kt, (task % n_kt) * _TILE
        for j in range(j0, min(j0 + _TILE, lk)):
            dk[b, j, :] = 0
            dv[b, j, :] = 0
            for i in range(j if causal else 0, lq):
                p, ds = _prob_grad(q, k, v, mask, mask_index, has_mask, causal, scale, dout, lse, delta, b, i, j)
                for e in range(dvn):
                    dv[b, j, e] += p * dout[b, i, e]
                for e in range(d):
                    dk[b, j, e] += scale * ds * q[b, i, e]
    n_qt = (lq + _TILE - 1) // _TILE
    for task in prange(n * n_qt):  # dq: keys in order
        b, i0 = task // n_qt, (task % n_qt) * _TILE
        for i in range(i0, min(i0 + _TILE, lq)):
            dq[b, i, :] = 0
            for j in range(min(lk, i + 1) if causal else lk):
                p, ds = _prob_grad(q, k, v, mask, mask_index, has_mask, causal, scale, dout, lse, delta, b, i, j)
                for e in range(d):
                    dq[b, i, e] += scale * ds * k[b, j, e]


def _mask_args(mask, mask_index, q):
    if mask is None:
        return np.zeros((1, 1, 1), q.dtype), np.zeros(q.shape[0], np.int64), False
    return mask, mask_index, True


def sdpa_fwd(out, lse, q, k, v, mask, mask_index, causal, scale):
    _fwd(out, lse, q, k, v, *_mask_args(mask, mask_index, q), bool(causal), float(scale))


def sdpa_bwd(dq, dk, dv, dout, q, k, v, mask, mask_index, out, lse, causal, scale):
    _bwd(dq, dk, dv, dout, q, k, v, *_mask_args(mask, mask_index, q), bool(causal), float(scale), out, lse)
