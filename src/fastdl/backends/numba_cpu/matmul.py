"""Numba kernels of the matmul family (contract: fastdl/ops/matmul.py)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["affine_bwd", "affine_fwd", "bmm"]


@njit(parallel=True, cache=True)
def _gemm_acc(c, a, b, accumulate):
    # c (m, n) (+)= a (m, k) @ b (k, n); any strides. Row i of c is one task.
    m, k = a.shape
    n = b.shape[1]
    for i in prange(m):
        acc = np.zeros(n, dtype=c.dtype)
        for p in range(k):
            aip = a[i, p]
            for j in range(n):
                acc[j] += aip * b[p, j]
        if accumulate:
            for j in range(n):
                c[i, j] += acc[j]
        else:
            for j in range(n):
                c[i, j] = acc[j]


def bmm(c, a, b, n_reduce):
    """c[o] = sum_r a[o, r] @ b[o, r]: the _cpu.bmm contract (see ops/matmul.py)."""
    nd = a.ndim - 2
    outer = a.shape[: nd - n_reduce]
    inner = a.shape[nd - n_reduce : nd]
    for o in np.ndindex(*outer):
        rs = list(np.ndindex(*inner))
        if not rs:
            c[o + (0,) * n_reduce][...] = 0
        for r, idx in enumerate(rs):
            _gemm_acc(c[o + (0,) * n_reduce], a[o + idx], b[o + idx], r > 0)


@njit(parallel=True, cache=True)
def _sum_rows(out, x):
    # out (m,) = x (n, m) summed over rows, in row order (as the C++ sum_rows)
    n, m = x.shape
    for j in prange(m):
        out[j] = 0
        for i in range(n):
            out[j] += x[i, j]


def affine_fwd(y, x, w, bias):
    if bias is None:
        _gemm_acc(y, x, w, False)
    else:  # y = bias, then y += x @ w: the C++ order
        y[...] = bias
        _gemm_acc(y, x, w, True)


def affine_bwd(dx, dw, dbias, dy, x, w):
    _gemm_acc(dx, dy, w.T, False)
    _gemm_acc(dw, x.T, dy, False)
    if dbias is not None:
        _sum_rows(dbias, dy)
