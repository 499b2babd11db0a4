"""Numba kernels of the act family (contract: fastdl/ops/act.py; op codes: csrc/cpu/act.h)."""

from __future__ import annotations

import math

from numba import njit, prange

__all__ = ["act_bwd", "act_fwd", "maxout_bwd", "maxout_fwd", "prelu_bwd", "prelu_fwd"]

_RSQRT2 = 0.7071067811865476
_RSQRT2PI = 0.3989422804014327
_K = 0.7978845608028654  # sqrt(2 / pi)
_C = 0.044715


@njit(cache=True)
def _sigmoid(v):
    e = math.exp(-abs(v))
    return (1.0 if v >= 0 else e) / (1.0 + e)


@njit(parallel=True, cache=True)
def _fwd(y, x, op, alpha):
    # y, x (n,); one prange loop per op
    n = x.size
    if op == 0:
        for i in prange(n):
            y[i] = _sigmoid(x[i])
    elif op == 1:
        for i in prange(n):
            y[i] = math.tanh(x[i])
    elif op == 2:
        for i in prange(n):
            v = x[i]
            y[i] = v if not v <= 0 else 0.0  # NaN stays NaN
    elif op == 3:
        for i in prange(n):
            v = x[i]
            y[i] = v if v > 0 else alpha * v
    elif op == 4:
        for i in prange(n):
            v = x[i]
            y[i] = v if v > 0 else alpha * math.expm1(v)
    elif op == 5:
        for i in prange(n):
            v = x[i]
            y[i] = 0.5 * v * (1.0 + math.erf(v * _RSQRT2)) if v != -math.inf else 0.0
    elif op == 6:
        for i in prange(n):
            v = x[i]
            y[i] = v / (1.0 + math.exp(-2.0 * _K * (v + _C * v * v * v))) if v != -math.inf else 0.0
    else:
        for i in prange(n):
            v = x[i]
            y[i] = v / (1.0 + math.exp(-v)) if v != -math.inf else 0.0


@njit(parallel=True, cache=True)
def _bwd(dx, a, dy, op, alpha):
    # dx, a, dy (n,); a is y for ops 0-2, x for the rest
    n = a.size
    if op == 0:
        for i in prange(n):
            dx[i] = dy[i] * a[i] * (1.0 - a[i])
    elif op == 1:
        for i in prange(n):
            dx[i] = dy[i] * (1.0 - a[i] * a[i])
    elif op == 2:
        for i in prange(n):
            dx[i] = dy[i] if a[i] > 0 else 0.0
    elif op == 3:
        for i in prange(n):
            dx[i] = dy[i] if a[i] > 0 else alpha * dy[i]
    elif op == 4:
        for i in prange(n):
            dx[i] = dy[i] if a[i] > 0 else dy[i] * alpha * math.exp(a[i])
    elif op == 5:
        for i in prange(n):
            v = a[i]
            cdf = 0.5 * (1.0 + math.erf(v * _RSQRT2))
            dx[i] = dy[i] * (cdf + v * _RSQRT2PI * math.exp(-0.5 * v * v)) if v != -math.inf else 0.0
    elif op == 6:
        for i in prange(n):
            v = a[i]
            s = 1.0 / (1.0 + math.exp(-2.0 * _K * (v + _C * v * v * v)))
            d = s * (1.0 + 2.0 * v * (1.0 - s) * _K * (1.0 + 3.0 * _C * v * v))
            dx[i] = dy[i] * d if v != -math.inf else 0.0
    else:
        for i in prange(n):
            v = a[i]
            s = 1.0 / (1.0 + math.exp(-v))
            dx[i] = dy[i] * s * (1.0 + v * (1.0 - s)) if v != -math.inf else 0.0


def act_fwd(y, x, op, alpha):
    _fwd(y.reshape(-1), x.reshape(-1), op, alpha)


def act_bwd(dx, a, dy, op, alpha):
    _bwd(dx.reshape(-1), a.reshape(-1), dy.reshape(-1), op, alpha)


@njit(parallel=True, cache=True)
def prelu_fwd(y, x, alpha):
    # x, y (n, c, s); alpha (c,)
    n, c, s = x.shape
    for i in prange(n):
        for j in range(c):
            a = alpha[j]
            for k in range(s):
                v = x[i, j, k]
                y[i, j, k] = v if v > 0 else a * v


@njit(parallel=True, cache=True)
def prelu_bwd(dx, dalpha, dy, x, alpha):
    # dx, dy, x (n, c, s); dalpha, alpha (c,). Channel j is one task, summed in (i, k) order.
    n, c, s = x.shape
    for j in prange(c):
        a = alpha[j]
        acc = 0.0
        for i in range(n):
            for k in range(s):
                v, g = x[i, j, k], dy[i, j, k]
                if v > 0:
                    dx[i, j, k] = g
                else:
                    dx[i, j, k] = a * g
                    acc += v * g
        dalpha[j] = acc


@njit(cache=True)
def _first_max(z, i, k, pieces, m):
    best = 0
    for p in range(1, pieces):
        v, b = z[i, p * m + k], z[i, best * m + k]
        if v > b or (v != v and b == b):  # the first NaN wins, as np.argmax
            best = p
    return best


@njit(parallel=True, cache=True)
def maxout_fwd(y, z, pieces):
    # z (n, pieces * m) -> y (n, m)
    n, m = y.shape
    for i in prange(n):
        for k in range(m):
            y[i, k] = z[i, _first_max(z, i, k, pieces, m) * m + k]


@njit(parallel=True, cache=True)
def maxout_bwd(dz, dy, z, pieces):
    n, m = dy.shape
    for i in prange(n):
        for k in range(m):
            best = _first_max(z, i, k, pieces, m)
            for p in range(pieces):
                dz[i, p * m + k] = dy[i, k] if p == best else 0.0
