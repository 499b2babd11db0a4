"""pool family: ``max_pool2d`` and ``avg_pool2d`` (PyTorch semantics, NCHW, floor mode).

Backend kernels (``_cpu``, ``backends.numba_cpu``), all on C-contiguous arrays:
    max_pool2d_fwd(out, x, kernel, stride, padding)
    max_pool2d_bwd(dx, dout, x, kernel, stride, padding, split)
    avg_pool2d_fwd(out, x, kernel, stride, padding, count_include_pad)
    avg_pool2d_bwd(dx, dout, kernel, stride, padding, count_include_pad)
kernel, stride, padding are (h, w) pairs; out (N, C, oh, ow), x and dx (N, C, H, W).

max_pool2d keeps no argmax indices: the cache holds x, and the backward
recomputes each window's maximum. ``ties='first'`` routes the gradient to the
first maximum in row-major window order (PyTorch); ``ties='split'`` shares
it equally among equal maxima (the course's reshape implementation).
"""

from __future__ import annotations

import numpy as np

from .._alloc import empty
from .._cache import Cache
from .._dispatch import backend
from .._validate import device_of, float_array, grad_output
from .conv import pair

__all__ = ["avg_pool2d", "avg_pool2d_backward", "avg_pool2d_forward",
           "max_pool2d", "max_pool2d_backward", "max_pool2d_forward"]


def _plan(op, x, kernel_size, stride, padding):
    x = float_array("x", x)
    device = device_of(x=x)
    if x.ndim != 4:
        raise ValueError(f"{op}: x must be (N, C, H, W), got shape {tuple(x.shape)}")
    k = pair(op, "kernel_size", kernel_size, 1)
    s = k if stride is None else pair(op, "stride", stride, 1)
    p = pair(op, "padding", padding, 0)
    if 2 * p[0] > k[0] or 2 * p[1] > k[1]:
        raise ValueError(f"{op}: padding {p} must be at most half the kernel size {k}")
    padded = (x.shape[2] + 2 * p[0], x.shape[3] + 2 * p[1])
    if k[0] > padded[0] or k[1] > padded[1]:
        raise ValueError(f"{op}: kernel {k} is larger than the padded input {padded} (x {tuple(x.shape)}, "
                         f"padding {p})")
    size = backend(op, device, x.dtype).conv_output_size
    shape = (x.shape[0], x.shape[1], size(x.shape[2], k[0], s[0], p[0], 1), size(x.shape[3], k[1], s[1], p[1], 1))
    return np.ascontiguousarray(x), device, shape, dict(kernel=k, stride=s, padding=p)


# ---------------------------------------------------------------------------
# max_pool2d


def _max_pool2d(x, kernel_size, stride, padding, ties):
    if ties not in ("first", "split"):
        raise ValueError(f"max_pool2d: ties must be 'first' or 'split', got {ties!r}")
    x, device, shape, params = _plan("max_pool2d", x, kernel_size, stride, padding)
    out = empty(shape, x.dtype, x)
    backend("max_pool2d", device, x.dtype).max_pool2d_fwd(out, x, **params)
    return out, x, params


def max_pool2d(x, kernel_size, stride=None, padding=0, ties="first"):
    """Max over windows: x (N, C, H, W) -> (N, C, oh, ow); stride defaults to kernel_size."""
    return _max_pool2d(x, kernel_size, stride, padding, ties)[0]


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, ties="first"):
    """(out, cache); the cache holds x only (no argmax indices)."""
    out, x, params = _max_pool2d(x, kernel_size, stride, padding, ties)
    return out, Cache("max_pool2d", {"x": x}, out_shape=out.shape, ties=ties, **params)


def max_pool2d_backward(dout, cache):
    """(dx,): dout routed to each window's maximum (recomputed from x)."""
    x = cache.arrays["x"]
    p = dict(cache.params)
    shape, ties = p.pop("out_shape"), p.pop("ties")
    dout = np.ascontiguousarray(grad_output("dout", dout, shape, x.dtype))
    dx = empty(x.shape, x.dtype, x)
    backend("max_pool2d", "cpu" if type(x) is np.ndarray else "gpu", x.dtype).max_pool2d_bwd(
        dx, dout, x, split=ties == "split", **p)
    return (dx,)


# ---------------------------------------------------------------------------
# avg_pool2d


def _avg_pool2d(x, kernel_size, stride, padding, count_include_pad):
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"avg_pool2d: count_include_pad must be a bool, got {count_include_pad!r}")
    x, device, shape, params = _plan("avg_pool2d", x, kernel_size, stride, padding)
    out = empty(shape, x.dtype, x)
    backend("avg_pool2d", device, x.dtype).avg_pool2d_fwd(out, x, count_include_pad=bool(count_include_pad),
                                                          **params)
    return out, x, params


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Mean over windows: x (N, C, H, W) -> (N, C, oh, ow); zero padding counts in the
    divisor when count_include_pad."""
    return _avg_pool2d(x, kernel_size, stride, padding, count_include_pad)[0]


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """(out, cache); the cache holds only shapes (the backward does not read x)."""
    out, x, params = _avg_pool2d(x, kernel_size, stride, padding, count_include_pad)
    return out, Cache("avg_pool2d", {}, x_shape=x.shape, dtype=x.dtype, device="cpu" if type(x) is np.ndarray
                      else "gpu", out_shape=out.shape, count_include_pad=bool(count_include_pad), **params)


def avg_pool2d_backward(dout, cache):
    """(dx,): each dout / divisor spread over its window."""
    p = dict(cache.params)
    x_shape, dtype, device, shape = p.pop("x_shape"), p.pop("dtype"), p.pop("device"), p.pop("out_shape")
    dout = np.ascontiguousarray(grad_output("dout", dout, shape, dtype))
    dx = empty(x_shape, dtype, dout)
    backend("avg_pool2d", device, dtype).avg_pool2d_bwd(dx, dout, **p)
    return (dx,)
