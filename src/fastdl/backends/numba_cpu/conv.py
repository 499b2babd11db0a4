"""Numba kernels of the conv family (contract: fastdl/ops/conv.py).

Direct loops: every output element is one fixed-order sum, and prange only
splits independent outputs (output planes, dx planes, dw filters), so results
do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["conv2d_bwd", "conv2d_bwd_data", "conv2d_fwd", "conv_bias_grad", "conv_output_size",
           "conv_transpose2d_bwd", "conv_transpose_output_size"]


def conv_output_size(size, kernel, stride, padding, dilation):
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    return 0 if span < 0 else span // stride + 1


def conv_transpose_output_size(size, kernel, stride, padding, dilation, output_padding):
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


@njit(parallel=True, cache=True)
def _fwd(out, x, w, bias, has_bias, sh, sw, ph, pw, dh, dw, groups):
    # out (N, F, oh, ow) = sum over (c, p, q) of w[f, c, p, q] * x[n, g*Cg + c, i*sh - ph + p*dh, j*sw - pw + q*dw]
    n_, c_, h, wd = x.shape
    f_, cg, kh, kw = w.shape
    oh, ow = out.shape[2], out.shape[3]
    fg = f_ // groups
    zero = np.zeros(1, out.dtype)[0]
    for t in prange(n_ * f_):
        n, f = t // f_, t % f_
        c0 = (f // fg) * cg
        for i in range(oh):
            for j in range(ow):
                s = bias[f] if has_bias else zero
                for c in range(cg):
                    for p in range(kh):
                        ih = i * sh - ph + p * dh
                        if ih < 0 or ih >= h:
                            continue
                        for q in range(kw):
                            iw = j * sw - pw + q * dw
                            if 0 <= iw < wd:
                                s += w[f, c, p, q] * x[n, c0 + c, ih, iw]
                out[n, f, i, j] = s


@njit(parallel=True, cache=True)
def _bwd_data(dx, dout, w, bias, has_bias, sh, sw, ph, pw, dh, dw, groups):
    # dx[n, c, ih, iw] = sum over outputs (f, i, j) and taps (p, q) that read x[n, c, ih, iw]
    n_, c_, h, wd = dx.shape
    f_, cg, kh, kw = w.shape
    oh, ow = dout.shape[2], dout.shape[3]
    fg = f_ // groups
    zero = np.zeros(1, dx.dtype)[0]
    for t in prange(n_ * c_):
        n, c = t // c_, t % c_
        f0, cc = (c // cg) * fg, c % cg
        for ih in range(h):
            for iw in range(wd):
                s = bias[c] if has_bias else zero
                for f in range(f0, f0 + fg):
                    for p in range(kh):
                        a = ih + ph - p * dh
                        if a < 0 or a % sh != 0 or a // sh >= oh:
                            continue
                        for q in range(kw):
                            b = iw + pw - q * dw
                            if b >= 0 and b % sw == 0 and b // sw < ow:
                                s += w[f, cc, p, q] * dout[n, f, a // sh, b // sw]
                dx[n, c, ih, iw] = s


@njit(parallel=True, cache=True)
def _bwd_weight(dw_, dout, x, sh, sw, ph, pw, dh, dw, groups):
    # dw[f, c, p, q] = sum over (n, i, j) of dout[n, f, i, j] * x[n, g*Cg + c, i*sh - ph + p*dh, j*sw - pw + q*dw]
    n_, c_, h, wd = x.shape
    f_, cg, kh, kw = dw_.shape
    oh, ow = dout.shape[2], dout.shape[3]
    fg = f_ // groups
    zero = np.zeros(1, dw_.dtype)[0]
    for f in prange(f_):
        c0 = (f // fg) * cg
        for c in range(cg):
            for p in range(kh):
                for q in range(kw):
                    s = zero
                    for n in range(n_):
                        for i in range(oh):
                            ih = i * sh - ph + p * dh
                            if ih < 0 or ih >= h:
                                continue
                            for j in range(ow):
                                iw = j * sw - pw + q * dw
                                if 0 <= iw < wd:
                                    s += dout[n, f, i, j] * x[n, c0 + c, ih, iw]
                    dw_[f, c, p, q] = s


@njit(parallel=True, cache=True)
def _bias_grad(db, dout):
    n_, f_, h, w = dout.shape
    zero = np.zeros(1, db.dtype)[0]
    for f in prange(f_):
        s = zero
        for n in range(n_):
            for i in range(h):
                for j in range(w):
                    s += dout[n, f, i, j]
        db[f] = s


def _bias(b, like):
    return (b, True) if b is not None else (np.zeros(1, like.dtype), False)


def conv2d_fwd(out, x, w, bias, stride, padding, dilation, groups):
    b, has = _bias(bias, out)
    _fwd(out, x, w, b, has, *stride, *padding, *dilation, groups)


def conv2d_bwd_data(dx, dout, w, bias, stride, padding, dilation, groups):
    b, has = _bias(bias, dx)
    _bwd_data(dx, dout, w, b, has, *stride, *padding, *dilation, groups)


def conv2d_bwd(dx, dw, db, dout, x, w, stride, padding, dilation, groups):
    if dx is not None:
        conv2d_bwd_data(dx, dout, w, None, stride, padding, dilation, groups)
    _bwd_weight(dw, dout, x, *stride, *padding, *dilation, groups)
    if db is not None:
        _bias_grad(db, dout)


def conv_transpose2d_bwd(dx, dw, db, dout, x, w, stride, padding, dilation, groups):
    """conv_transpose2d's gradients (params of the conv2d taking dout to x): the three passes in turn."""
    conv2d_fwd(dx, dout, w, None, stride, padding, dilation, groups)
    conv2d_bwd(None, dw, None, x, dout, w, stride, padding, dilation, groups)
    if db is not None:
        _bias_grad(db, dout)


def conv_bias_grad(db, dout):
    _bias_grad(db, dout)
