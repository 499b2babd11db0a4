"""Numba kernels of the softmax family (contract: fastdl/ops/softmax.py)."""

from __future__ import annotations

import math

from numba import njit, prange

__all__ = ["softmax_bwd", "softmax_fwd"]


@njit(parallel=True, cache=True)
def softmax_fwd(y, x, log):
    # x, y (outer, c, inner); one (outer, inner) column per task, reduced over c in order
    outer, c, inner = x.shape
    for t in prange(outer * inner):
        o, j = t // inner, t % inner
        m = -math.inf
        for k in range(c):
            m = max(m, x[o, k, j])
        s = 0.0
        for k in range(c):
            s += math.exp(x[o, k, j] - m)
        if log:
            lse = m + math.log(s)
            for k in range(c):
                y[o, k, j] = x[o, k, j] - lse
        else:
            for k in range(c):
                y[o, k, j] = math.exp(x[o, k, j] - m) / s


@njit(parallel=True, cache=True)
def softmax_bwd(dx, y, dy, log):
    outer, c, inner = y.shape
    for t in prange(outer * inner):
        o, j = t // inner, t % inner
        acc = 0.0
        if log:
            for k in range(c):
                acc += dy[o, k, j]
            for k in range(c):
                dx[o, k, j] = dy[o, k, j] - math.exp(y[o, k, j]) * acc
        else:
            for k in range(c):
                acc += dy[o, k, j] * y[o, k, j]
            for k in range(c):
                dx[o, k, j] = y[o, k, j] * (dy[o, k, j] - acc)
