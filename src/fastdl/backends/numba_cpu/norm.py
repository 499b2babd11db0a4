"""Numba kernels of the norm family (contract: fastdl/ops/norm.py).

Same sums as the C++ kernels, in a fixed order: a row's (or a channel's)
statistics are summed sequentially in float64 by one thread; the row-norm
backward reduces dgamma/dbeta through at most 64 row blocks of fixed size,
added in block order. None gamma/beta become ones/zeros here (this backend is
the fallback; the extra arrays are small).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["batch_norm_bwd", "batch_norm_fwd", "row_norm_bwd", "row_norm_fwd"]

_BLOCKS = 64


def _or(a, size, value, dtype):
    # a flattened (layer_norm's gamma has the normalised dims' shape), or a constant stand-in for None
    return np.full(size, value, dtype) if a is None else a.reshape(-1)


@njit(parallel=True, cache=True)
def _row_fwd(y, mean, rstd, x, gamma, beta, groups, cg, s, eps):
    # y, x (rows, cg * s); gamma, beta (groups * cg,)
    rows, length = x.shape
    for r in prange(rows):
        acc = 0.0
        for i in range(length):
            acc += x[r, i]
        m = acc / length
        acc = 0.0
        for i in range(length):
            d = x[r, i] - m
            acc += d * d
        rs = 1.0 / np.sqrt(acc / length + eps)
        mean[r] = m
        rstd[r] = rs
        ch0 = (r % groups) * cg
        for c in range(cg):
            a = rs * gamma[ch0 + c]
            b = beta[ch0 + c]
            for j in range(c * s, (c + 1) * s):
                y[r, j] = (x[r, j] - m) * a + b


def row_norm_fwd(y, mean, rstd, x, gamma, beta, groups, cg, s, eps):
    rows, length = mean.shape[0], cg * s
    n = groups * cg
    _row_fwd(y.reshape(rows, length), mean, rstd, x.reshape(rows, length), _or(gamma, n, 1, x.dtype),
             _or(beta, n, 0, x.dtype), groups, cg, s, eps)


@njit(parallel=True, cache=True)
def _row_bwd(dx, part, dy, x, mean, rstd, gamma, groups, cg, s, rows_per_block):
    # dx, dy, x (rows, cg * s); part (blocks, 2, groups * cg) partial dgamma, dbeta per block
    rows, length = x.shape
    blocks = part.shape[0]
    for b in prange(blocks):
        part[b, :, :] = 0
        for r in range(b * rows_per_block, min(rows, (b + 1) * rows_per_block)):
            m, rs = mean[r], rstd[r]
            ch0 = (r % groups) * cg
            s1 = 0.0
            s2 = 0.0
            for c in range(cg):
                sdy = 0.0
                sdyx = 0.0
                for j in range(c * s, (c + 1) * s):
                    sdy += dy[r, j]
                    sdyx += dy[r, j] * ((x[r, j] - m) * rs)
                s1 += gamma[ch0 + c] * sdy
                s2 += gamma[ch0 + c] * sdyx
                part[b, 0, ch0 + c] += sdyx
                part[b, 1, ch0 + c] += sdy
            c1 = s1 / length
            c2 = s2 / length
            for c in range(cg):
                g = gamma[ch0 + c]
                for j in range(c * s, (c + 1) * s):
                    dx[r, j] = rs * (g * dy[r, j] - c1 - ((x[r, j] - m) * rs) * c2)


@njit(cache=True)
def _sum_blocks(out, part, k):
    # out (C,) = part[:, k, :] summed over blocks in order
    for j in range(out.shape[0]):
        acc = 0.0
        for b in range(part.shape[0]):
            acc += part[b, k, j]
        out[j] = acc


def row_norm_bwd(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, groups, cg, s):
    rows, length, n = mean.shape[0], cg * s, groups * cg
    rows_per_block = max(1, -(-rows // _BLOCKS))
    blocks = -(-rows // rows_per_block)
    part = np.empty((blocks, 2, n), x.dtype)
    _row_bwd(dx.reshape(rows, length), part, dy.reshape(rows, length), x.reshape(rows, length), mean, rstd,
             _or(gamma, n, 1, x.dtype), groups, cg, s, rows_per_block)
    if dgamma is not None:
        _sum_blocks(dgamma.reshape(-1), part, 0)
    if dbeta is not None:
        _sum_blocks(dbeta.reshape(-1), part, 1)


@njit(parallel=True, cache=True)
def _bn_fwd(y, mean, rstd, running_mean, running_var, x, gamma, beta, training, update, momentum, eps):
    # y, x (n, c, s); everything else (c,)
    n, c, s = x.shape
    count = n * s
    for j in prange(c):
        if training:
            acc = 0.0
            for i in range(n):
                for k in range(s):
                    acc += x[i, j, k]
            m = acc / count
            acc = 0.0
            for i in range(n):
                for k in range(s):
                    d = x[i, j, k] - m
                    acc += d * d
            var = acc / count
            mean[j] = m
            rstd[j] = 1.0 / np.sqrt(var + eps)
            if update and count > 0:
                running_mean[j] = (1 - momentum) * running_mean[j] + momentum * m
                running_var[j] = (1 - momentum) * running_var[j] + momentum * var * count / (count - 1)
        else:
            mean[j] = running_mean[j]
            rstd[j] = 1.0 / np.sqrt(running_var[j] + eps)
        m = mean[j]
        a = rstd[j] * gamma[j]
        b = beta[j]
        for i in range(n):
            for k in range(s):
                y[i, j, k] = (x[i, j, k] - m) * a + b


def _as3(a):
    return a.reshape(a.shape[0], a.shape[1], -1) if a.size else a.reshape(a.shape[0], a.shape[1], 0)


def batch_norm_fwd(y, mean, rstd, running_mean, running_var, x, gamma, beta, training, momentum, eps):
    c = x.shape[1]
    update = running_mean is not None
    rm = running_mean if update else np.zeros(c, x.dtype)
    rv = running_var if update else np.ones(c, x.dtype)
    if not training and not (rm.flags.writeable and rv.flags.writeable):
        rm, rv = rm.copy(), rv.copy()  # only read in evaluation; one jitted signature (writeable)
    _bn_fwd(_as3(y), mean, rstd, rm, rv, _as3(x), _or(gamma, c, 1, x.dtype), _or(beta, c, 0, x.dtype),
            bool(training), update, momentum, eps)


@njit(parallel=True, cache=True)
def _bn_bwd(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, training):
    n, c, s = x.shape
    count = n * s
    for j in prange(c):
        m, rs = mean[j], rstd[j]
        sdy = 0.0
        sdyx = 0.0
        for i in range(n):
            for k in range(s):
                sdy += dy[i, j, k]
                sdyx += dy[i, j, k] * ((x[i, j, k] - m) * rs)
        dgamma[j] = sdyx
        dbeta[j] = sdy
        a = gamma[j] * rs
        c1 = sdy / count if training else 0.0
        c2 = sdyx / count if training else 0.0
        for i in range(n):
            for k in range(s):
                dx[i, j, k] = a * (dy[i, j, k] - c1 - ((x[i, j, k] - m) * rs) * c2)


def batch_norm_bwd(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, training):
    c = x.shape[1]
    _bn_bwd(_as3(dx), _or(dgamma, c, 0, x.dtype), _or(dbeta, c, 0, x.dtype), _as3(dy), _as3(x), mean, rstd,
            _or(gamma, c, 1, x.dtype), bool(training))
