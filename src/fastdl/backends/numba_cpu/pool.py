"""Numba kernels of the pool family (contract: fastdl/ops/pool.py).

prange over channel planes (independent outputs); each window in a fixed order.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["avg_pool2d_bwd", "avg_pool2d_fwd", "max_pool2d_bwd", "max_pool2d_fwd"]


@njit(inline="always")
def _window(i, j, s0, s1, p0, p1, k0, k1, h, w):
    r, c = i * s0 - p0, j * s1 - p1
    return max(r, 0), min(r + k0, h), max(c, 0), min(c + k1, w)


@njit(parallel=True, cache=True)
def _max_fwd(out, x, k0, k1, s0, s1, p0, p1):
    n_, c_, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for t in prange(n_ * c_):
        n, c = t // c_, t % c_
        for i in range(oh):
            for j in range(ow):
                r0, r1, c0, c1 = _window(i, j, s0, s1, p0, p1, k0, k1, h, w)
                m = x[n, c, r0, c0]
                for r in range(r0, r1):
                    for q in range(c0, c1):
                        v = x[n, c, r, q]
                        if v > m or (v != v and m == m):
                            m = v
                out[n, c, i, j] = m


@njit(parallel=True, cache=True)
def _max_bwd(dx, dout, x, k0, k1, s0, s1, p0, p1, split):
    n_, c_, h, w = x.shape
    oh, ow = dout.shape[2], dout.shape[3]
    for t in prange(n_ * c_):
        n, c = t // c_, t % c_
        dx[n, c] = 0
        for i in range(oh):
            for j in range(ow):
                r0, r1, c0, c1 = _window(i, j, s0, s1, p0, p1, k0, k1, h, w)
                m = x[n, c, r0, c0]
                br, bq = r0, c0
                for r in range(r0, r1):
                    for q in range(c0, c1):
                        v = x[n, c, r, q]
                        if v > m or (v != v and m == m):
                            m, br, bq = v, r, q
                g = dout[n, c, i, j]
                if not split:
                    dx[n, c, br, bq] += g
                    continue
                nan = m != m
                count = 0
                for r in range(r0, r1):
                    for q in range(c0, c1):
                        v = x[n, c, r, q]
                        if (v != v) if nan else (v == m):
                            count += 1
                share = g / count
                for r in range(r0, r1):
                    for q in range(c0, c1):
                        v = x[n, c, r, q]
                        if (v != v) if nan else (v == m):
                            dx[n, c, r, q] += share


@njit(parallel=True, cache=True)
def _avg_fwd(out, x, k0, k1, s0, s1, p0, p1, include_pad):
    n_, c_, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    zero = np.zeros(1, out.dtype)[0]
    for t in prange(n_ * c_):
        n, c = t // c_, t % c_
        for i in range(oh):
            for j in range(ow):
                r0, r1, c0, c1 = _window(i, j, s0, s1, p0, p1, k0, k1, h, w)
                s = zero
                for r in range(r0, r1):
                    for q in range(c0, c1):
                        s += x[n, c, r, q]
                div = k0 * k1 if include_pad else (r1 - r0) * (c1 - c0)
                out[n, c, i, j] = s / div


@njit(parallel=True, cache=True)
def _avg_bwd(dx, dout, k0, k1, s0, s1, p0, p1, include_pad):
    n_, c_, h, w = dx.shape
    oh, ow = dout.shape[2], dout.shape[3]
    for t in prange(n_ * c_):
        n, c = t // c_, t % c_
        dx[n, c] = 0
        for i in range(oh):
            for j in range(ow):
                r0, r1, c0, c1 = _window(i, j, s0, s1, p0, p1, k0, k1, h, w)
                div = k0 * k1 if include_pad else (r1 - r0) * (c1 - c0)
                g = dout[n, c, i, j] / div
                for r in range(r0, r1):
                    for q in range(c0, c1):
                        dx[n, c, r, q] += g


def max_pool2d_fwd(out, x, kernel, stride, padding):
    _max_fwd(out, x, *kernel, *stride, *padding)


def max_pool2d_bwd(dx, dout, x, kernel, stride, padding, split):
    _max_bwd(dx, dout, x, *kernel, *stride, *padding, split)


def avg_pool2d_fwd(out, x, kernel, stride, padding, count_include_pad):
    _avg_fwd(out, x, *kernel, *stride, *padding, count_include_pad)


def avg_pool2d_bwd(dx, dout, kernel, stride, padding, count_include_pad):
    _avg_bwd(dx, dout, *kernel, *stride, *padding, count_include_pad)
