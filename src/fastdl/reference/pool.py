"""Reference max_pool2d and avg_pool2d (NumPy, from the formulas).

Window (i, j) of a plane covers rows i*sh - ph ... i*sh - ph + kh - 1 and the
matching columns of the input padded with -inf (max) or 0 (avg). The windows
are a strided view (N, C, oh, ow, kh, kw) of the padded input.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["avg_pool2d_backward", "avg_pool2d_forward", "max_pool2d_backward", "max_pool2d_forward"]


def _pair(v):
    return (v, v) if np.isscalar(v) else tuple(v)


def _params(kernel_size, stride, padding):
    k = _pair(kernel_size)
    return k, _pair(k if stride is None else stride), _pair(padding)


def _windows(xpad, k, s):
    # (N, C, oh, ow, kh, kw) view of the padded input
    return sliding_window_view(xpad, k, axis=(2, 3))[:, :, ::s[0], ::s[1]]


def _scatter(dxpad, g, k, s, oh, ow):
    # dxpad[..., i*sh + p, j*sw + q] += g[..., i, j, p, q]
    for p in range(k[0]):
        for q in range(k[1]):
            dxpad[:, :, p:p + s[0] * (oh - 1) + 1:s[0], q:q + s[1] * (ow - 1) + 1:s[1]] += g[..., p, q]


def _pad(x, pad, value):
    return np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])), constant_values=value)


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, ties="first"):
    # x (N, C, H, W) -> out (N, C, oh, ow): the max of each window (NaN wins)
    k, s, pad = _params(kernel_size, stride, padding)
    win = _windows(_pad(x, pad, -np.inf), k, s)
    return win.max(axis=(4, 5)), (x, k, s, pad, ties)


def max_pool2d_backward(dout, cache):
    # The gradient goes to the first maximum of each window in row-major order
    # (ties='first'), or is shared equally among the equal maxima (ties='split').
    x, k, s, pad, ties = cache
    xpad = _pad(x, pad, -np.inf)
    win = _windows(xpad, k, s)
    n, c, oh, ow = win.shape[:4]
    flat = win.reshape(n, c, oh, ow, k[0] * k[1])
    m = flat.max(axis=-1, keepdims=True)
    inside = _windows(_pad(np.ones((1, 1) + x.shape[2:], bool), pad, False), k, s).reshape(1, 1, oh, ow, -1)
    is_max = ((flat == m) | (np.isnan(flat) & np.isnan(m))) & inside    # padding is never a maximum
    if ties == "first":
        share = np.zeros(flat.shape, dout.dtype)
        np.put_along_axis(share, is_max.argmax(axis=-1)[..., None], 1, axis=-1)
    else:
        share = is_max / is_max.sum(axis=-1, keepdims=True)
    dxpad = np.zeros(xpad.shape, dout.dtype)
    _scatter(dxpad, (share * dout[..., None]).reshape(win.shape), k, s, oh, ow)
    return (dxpad[:, :, pad[0]:pad[0] + x.shape[2], pad[1]:pad[1] + x.shape[3]],)


def _divisor(x, k, s, pad, count_include_pad):
    # (oh, ow): kh*kw, or the number of window elements inside x
    if count_include_pad:
        return k[0] * k[1]
    inside = _pad(np.ones((1, 1) + x.shape[2:]), pad, 0)
    return _windows(inside, k, s).sum(axis=(4, 5))[0, 0]


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    # x (N, C, H, W) -> out (N, C, oh, ow) = window sum / divisor
    k, s, pad = _params(kernel_size, stride, padding)
    win = _windows(_pad(x, pad, 0), k, s)
    out = win.sum(axis=(4, 5)) / _divisor(x, k, s, pad, count_include_pad)
    return out.astype(x.dtype), (x, k, s, pad, count_include_pad)


def avg_pool2d_backward(dout, cache):
    x, k, s, pad, count_include_pad = cache
    g = dout / _divisor(x, k, s, pad, count_include_pad)           # (N, C, oh, ow)
    dxpad = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * pad[0], x.shape[3] + 2 * pad[1]), dout.dtype)
    oh, ow = dout.shape[2:]
    _scatter(dxpad, np.broadcast_to(g[..., None, None], g.shape + k), k, s, oh, ow)
    return (dxpad[:, :, pad[0]:pad[0] + x.shape[2], pad[1]:pad[1] + x.shape[3]],)
