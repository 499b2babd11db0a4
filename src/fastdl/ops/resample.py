"""resample family: ``upsample2d`` (PyTorch ``interpolate`` semantics, NCHW).

Backend kernels (``_cpu``, ``backends.numba_cpu``), on C-contiguous arrays:
    upsample2d_fwd(out, x, mode, align_corners, scale_h, scale_w)
        out (N, C, Ho, Wo) = x (N, C, H, W) interpolated
    upsample2d_bwd(dx, dout, mode, align_corners, scale_h, scale_w)
        dx (N, C, H, W) = the interpolation's transpose applied to dout (N, C, Ho, Wo)
mode is 'nearest', 'bilinear' or 'bicubic'; scale_h / scale_w are the
user's scale factors, or 0 when the output size was given (PyTorch then
steps by in/out instead of 1/scale -- they differ when in * scale is not
an integer).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._alloc import empty
from .._cache import Cache
from .._dispatch import backend
from .._validate import device_of, float_array, grad_output
from .conv import pair

__all__ = ["upsample2d", "upsample2d_backward", "upsample2d_forward"]

MODES = ("nearest", "bilinear", "bicubic")


def _scales(scale_factor):
    op = "upsample2d"
    if isinstance(scale_factor, (tuple, list)):
        if len(scale_factor) != 2:
            raise ValueError(f"{op}: scale_factor must be a number or an (h, w) pair, got {scale_factor!r}")
        s = tuple(scale_factor)
    else:
        s = (scale_factor, scale_factor)
    for v in s:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{op}: scale_factor must be a number or an (h, w) pair, got {scale_factor!r}")
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{op}: scale_factor must be finite and > 0, got {scale_factor!r}")
    return float(s[0]), float(s[1])


def _plan(x, size, scale_factor, mode, align_corners):
    op = "upsample2d"
    x = float_array("x", x)
    device = device_of(x=x)
    if x.ndim != 4:
        raise ValueError(f"{op}: x must be (N, C, H, W), got shape {tuple(x.shape)}")
    if mode not in MODES:
        raise ValueError(f"{op}: mode must be one of {MODES}, got {mode!r}")
    if not isinstance(align_corners, (bool, np.bool_)):
        raise TypeError(f"{op}: align_corners must be a bool, got {align_corners!r}")
    if align_corners and mode == "nearest":
        raise ValueError(f"{op}: align_corners=True needs mode 'bilinear' or 'bicubic', not 'nearest'")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor (got size={size!r}, "
                         f"scale_factor={scale_factor!r})")
    h, w = x.shape[2:]
    if h < 1 or w < 1:
        raise ValueError(f"{op}: x must have non-empty spatial dims, got shape {tuple(x.shape)}")
    if size is not None:
        out_hw = pair(op, "size", size, 1)
        scales = (0.0, 0.0)
    else:
        scales = _scales(scale_factor)
        out_hw = (math.floor(h * scales[0]), math.floor(w * scales[1]))
        if min(out_hw) < 1:
            raise ValueError(f"{op}: scale_factor {scale_factor!r} gives an empty output {out_hw} for x "
                             f"{tuple(x.shape)}")
    params = dict(mode=mode, align_corners=bool(align_corners), scale_h=scales[0], scale_w=scales[1])
    return np.ascontiguousarray(x), device, (x.shape[0], x.shape[1], *out_hw), params


def _upsample2d(x, size, scale_factor, mode, align_corners):
    x, device, shape, params = _plan(x, size, scale_factor, mode, align_corners)
    out = empty(shape, x.dtype, x)
    backend("upsample2d", device, x.dtype).upsample2d_fwd(out, x, **params)
    return out, x, device, params


def upsample2d(x, size=None, scale_factor=None, mode="nearest", align_corners=False):
    """Resize x (N, C, H, W) to size (Ho, Wo) or by scale_factor, as torch.nn.functional.interpolate."""
    return _upsample2d(x, size, scale_factor, mode, align_corners)[0]


def upsample2d_forward(x, size=None, scale_factor=None, mode="nearest", align_corners=False):
    """(out, cache); the cache holds only shapes and options (the backward does not read x)."""
    out, x, device, params = _upsample2d(x, size, scale_factor, mode, align_corners)
    return out, Cache("upsample2d", {}, x_shape=x.shape, dtype=x.dtype, device=device, out_shape=out.shape,
                      **params)


def upsample2d_backward(dout, cache):
    """(dx,)."""
    p = dict(cache.params)
    x_shape, dtype, device, shape = p.pop("x_shape"), p.pop("dtype"), p.pop("device"), p.pop("out_shape")
    dout = np.ascontiguousarray(grad_output("dout", dout, shape, dtype))
    dx = empty(x_shape, dtype, dout)
    backend("upsample2d", device, dtype).upsample2d_bwd(dx, dout, **p)
    return (dx,)
