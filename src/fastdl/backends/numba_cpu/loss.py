"""Numba kernels of the loss family (contract: fastdl/ops/loss.py; kinds: csrc/cpu/loss.h).

Sums run in fixed 4096-value blocks (prange over blocks, each in index
order), block sums added in block order: the thread count never changes them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["cross_entropy_bwd", "cross_entropy_fwd", "hinge_bwd", "hinge_fwd", "pointwise_loss_bwd",
           "pointwise_loss_fwd"]

_BLOCK = 4096


@njit(cache=True)
def _value(kind, a, b):
    if kind == 0:
        return (a - b) * (a - b)
    if kind == 1:
        return abs(a - b)
    if kind == 2:
        la = max(math.log(a), -100.0) if a > 0 else (-100.0 if a == 0 else a)
        l1a = max(math.log1p(-a), -100.0) if a < 1 else (-100.0 if a == 1 else a)
        return -(b * la + (1.0 - b) * l1a)
    if kind == 3:
        return max(a, 0.0) - a * b + math.log1p(math.exp(-abs(a)))
    return -0.5 * (1.0 + b - a * a - math.exp(b))


@njit(parallel=True, cache=True)
def _fwd(kind, values, a, b):
    # values (n,) per element; returns (sum in fixed blocks, out-of-domain count)
    n = a.size
    nblocks = (n + _BLOCK - 1) // _BLOCK
    part = np.zeros(nblocks)
    bad = np.zeros(nblocks, np.int64)
    for k in prange(nblocks):
        s = 0.0
        nb = 0
        for i in range(k * _BLOCK, min(n, (k + 1) * _BLOCK)):
            v = _value(kind, a[i], b[i])
            values[i] = v
            s += v
            if kind == 2 and (a[i] < 0 or a[i] > 1):
                nb += 1
        part[k] = s
        bad[k] = nb
    total = 0.0
    for k in range(nblocks):
        total += part[k]
    return total, bad.sum()


def pointwise_loss_fwd(kind, loss, a, b):
    values = loss.reshape(-1) if loss is not None else np.empty(a.size, a.dtype)
    total, bad = _fwd(kind, values, a.reshape(-1), b.reshape(-1))
    return float(total), int(bad)


@njit(parallel=True, cache=True)
def _bwd(kind, da, db, a, b, dout, has_dout, scale):
    for i in prange(a.size):
        g = scale * dout[i] if has_dout else scale
        x, t = a[i], b[i]
        if kind == 0:
            d = 2.0 * g * (x - t)
            da[i], db[i] = d, -d
        elif kind == 1:
            diff = x - t
            s = 1.0 if diff > 0 else (-1.0 if diff < 0 else diff * 0.0)
            da[i], db[i] = g * s, -g * s
        elif kind == 2:
            la = max(math.log(x), -100.0) if x > 0 else (-100.0 if x == 0 else x)
            l1a = max(math.log1p(-x), -100.0) if x < 1 else (-100.0 if x == 1 else x)
            da[i] = g * (x - t) / max(x * (1.0 - x), 1e-12)
            db[i] = g * (l1a - la)
        elif kind == 3:
            da[i] = g * (1.0 / (1.0 + math.exp(-x)) - t)
            db[i] = -g * x
        else:
            da[i] = g * x
            db[i] = 0.5 * g * (math.exp(t) - 1.0)


def pointwise_loss_bwd(kind, da, db, a, b, dout, scale):
    g = dout.reshape(-1) if dout is not None else np.empty(0, a.dtype)
    dbf = db.reshape(-1) if db is not None else np.empty(a.size, a.dtype)
    _bwd(kind, da.reshape(-1), dbf, a.reshape(-1), b.reshape(-1), g, dout is not None, scale)


@njit(parallel=True, cache=True)
def _ce_fwd(loss, lse, x, labels, ignore):
    # x (n, c, s), labels/loss/lse (n, s); one position per task
    n, c, s = x.shape
    for t in prange(n * s):
        i, j = t // s, t % s
        m = -math.inf
        for k in range(c):
            m = max(m, x[i, k, j])
        acc = 0.0
        for k in range(c):
            acc += math.exp(x[i, k, j] - m)
        l = m + math.log(acc)
        lse[i, j] = l
        lab = labels[i, j]
        loss[i, j] = 0.0 if lab == ignore else l - x[i, lab, j]


@njit(cache=True)
def _check_labels(labels, c, ignore):
    bad = 0
    count = 0
    for v in labels.ravel():
        if v == ignore:
            continue
        count += 1
        if v < 0 or v >= c:
            bad += 1
    return count, bad


@njit(parallel=True, cache=True)
def _block_sum(v):
    n = v.size
    nblocks = (n + _BLOCK - 1) // _BLOCK
    part = np.zeros(nblocks)
    for k in prange(nblocks):
        s = 0.0
        for i in range(k * _BLOCK, min(n, (k + 1) * _BLOCK)):
            s += v[i]
        part[k] = s
    total = 0.0
    for k in range(nblocks):
        total += part[k]
    return total


def cross_entropy_fwd(loss, lse, x, labels, ignore):
    count, bad = _check_labels(labels, x.shape[1], ignore)
    if bad:
        return 0.0, int(count), int(bad)
    _ce_fwd(loss, lse, x, labels, ignore)
    return float(_block_sum(loss.reshape(-1))), int(count), 0


@njit(parallel=True, cache=True)
def _ce_bwd(dx, x, lse, labels, dout, has_dout, scale, ignore):
    n, c, s = x.shape
    for t in prange(n * s):
        i, j = t // s, t % s
        lab = labels[i, j]
        if lab == ignore:
            for k in range(c):
                dx[i, k, j] = 0.0
            continue
        g = scale * dout[i, j] if has_dout else scale
        for k in range(c):
            dx[i, k, j] = g * math.exp(x[i, k, j] - lse[i, j])
        dx[i, lab, j] -= g


def cross_entropy_bwd(dx, x, lse, labels, dout, scale, ignore):
    count, bad = _check_labels(labels, x.shape[1], ignore)
    if bad:
        raise ValueError("labels: value out of range [0, c)")
    g = dout if dout is not None else np.empty((1, 1), x.dtype)
    _ce_bwd(dx, x, lse, labels, g, dout is not None, scale, ignore)


@njit(parallel=True, cache=True)
def _hinge_fwd(loss, x, labels, margin):
    n, c = x.shape
    for i in prange(n):
        y = labels[i]
        acc = 0.0
        for j in range(c):
            m = margin - x[i, y] + x[i, j]
            if j != y and not m <= 0:
                acc += m
        loss[i] = acc / c


def hinge_fwd(loss, x, labels, margin):
    _, bad = _check_labels(labels, x.shape[1], np.iinfo(np.int64).min)
    if bad:
        return 0.0, int(bad)
    _hinge_fwd(loss, x, labels, margin)
    return float(_block_sum(loss)), 0


@njit(parallel=True, cache=True)
def _hinge_bwd(dx, x, labels, dout, has_dout, scale, margin):
    n, c = x.shape
    for i in prange(n):
        y = labels[i]
        g = (scale * dout[i] if has_dout else scale) / c
        count = 0
        for j in range(c):
            active = j != y and margin - x[i, y] + x[i, j] > 0
            dx[i, j] = g if active else 0.0
            count += active
        dx[i, y] = -count * g


def hinge_bwd(dx, x, labels, dout, scale, margin):
    _, bad = _check_labels(labels, x.shape[1], np.iinfo(np.int64).min)
    if bad:
        raise ValueError("labels: value out of range [0, c)")
    g = dout if dout is not None else np.empty(1, x.dtype)
    _hinge_bwd(dx, x, labels, g, dout is not None, scale, margin)
