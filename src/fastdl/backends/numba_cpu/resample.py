"""Numba kernels of the resample family (contract: fastdl/ops/resample.py).

The per-axis tap tables (indices and weights, PyTorch's index rules) are
built in NumPy, as resample.cpp's axis_taps builds them; the kernels walk
them per channel plane (prange over planes, a fixed order inside each).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["upsample2d_bwd", "upsample2d_fwd"]

_A = -0.75


def _axis_taps(n_in, n_out, mode, align_corners, scale, dtype):
    """(idx (n_out, nt) int64, wt (n_out, nt) dtype): see resample.cpp axis_taps."""
    t = np.dtype(dtype).type
    nt = {"nearest": 1, "bilinear": 2, "bicubic": 4}[mode]
    idx = np.zeros((n_out, nt), np.int64)
    wt = np.zeros((n_out, nt), dtype)
    for o in range(n_out):
        if mode == "nearest":
            s = np.float32(1.0 / scale) if scale > 0 else np.float32(n_in) / np.float32(n_out)
            idx[o, 0] = o if n_out == n_in else (o >> 1 if n_out == 2 * n_in else
                                                  min(int(math.floor(np.float32(o) * s)), n_in - 1))
            wt[o, 0] = 1
            continue
        if align_corners:
            s = t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
            src = s * t(o)
        else:
            s = t(1.0 / scale) if scale > 0 else t(n_in) / t(n_out)
            src = s * (t(o) + t(0.5)) - t(0.5)
        if mode == "bilinear":
            if n_out == n_in:
                idx[o] = o
                wt[o] = (1, 0)
                continue
            src = max(src, t(0))
            i0 = min(int(math.floor(src)), n_in - 1)
            lam = min(max(src - t(i0), t(0)), t(1))
            idx[o] = (i0, i0 + 1 if i0 < n_in - 1 else i0)
            wt[o] = (t(1) - lam, lam)
            continue
        i0 = min(int(math.floor(src)), n_in - 1)
        x = min(max(src - t(i0), t(0)), t(1))
        a = t(_A)

        def near(d):
            return ((a + 2) * d - (a + 3)) * d * d + 1

        def far(d):
            return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

        wt[o] = (far(x + 1), near(x), near(1 - x), far(2 - x))
        idx[o] = [min(max(i0 - 1 + k, 0), n_in - 1) for k in range(4)]
    return idx, wt


@njit(parallel=True, cache=True)
def _fwd(out, x, iy, wy, ix, wx):
    n_, c_, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for t in prange(n_ * c_):
        n, c = t // c_, t % c_
        for i in range(oh):
            for j in range(ow):
                acc = out[n, c, i, j] * 0
                for ty in range(iy.shape[1]):
                    s = wx[j, 0] * x[n, c, iy[i, ty], ix[j, 0]]
                    for tx in range(1, ix.shape[1]):
                        s += wx[j, tx] * x[n, c, iy[i, ty], ix[j, tx]]
                    acc = wy[i, ty] * s if ty == 0 else acc + wy[i, ty] * s
                out[n, c, i, j] = acc


@njit(parallel=True, cache=True)
def _bwd(dx, dout, iy, wy, ix, wx):
    n_, c_, h, w = dx.shape
    oh, ow = dout.shape[2], dout.shape[3]
    for t in prange(n_ * c_):
        n, c = t // c_, t % c_
        dx[n, c] = 0
        for i in range(oh):
            for ty in range(iy.shape[1]):
                for j in range(ow):
                    gy = wy[i, ty] * dout[n, c, i, j]
                    for tx in range(ix.shape[1]):
                        dx[n, c, iy[i, ty], ix[j, tx]] += wx[j, tx] * gy


def _tables(x_shape, out_shape, mode, align_corners, scale_h, scale_w, dtype):
    h, w = x_shape[2:]
    oh, ow = out_shape[2:]
    iy, wy = _axis_taps(h, oh, mode, align_corners, scale_h, dtype)
    ix, wx = _axis_taps(w, ow, mode, align_corners, scale_w, dtype)
    return iy, wy, ix, wx


def upsample2d_fwd(out, x, mode, align_corners, scale_h, scale_w):
    if mode == "bicubic" and out.shape == x.shape:  # PyTorch copies a same-size bicubic resize
        out[...] = x
        return
    _fwd(out, x, *_tables(x.shape, out.shape, mode, align_corners, scale_h, scale_w, x.dtype))


def upsample2d_bwd(dx, dout, mode, align_corners, scale_h, scale_w):
    if mode == "bicubic" and dout.shape == dx.shape:
        dx[...] = dout
        return
    _bwd(dx, dout, *_tables(dx.shape, dout.shape, mode, align_corners, scale_h, scale_w, dx.dtype))
