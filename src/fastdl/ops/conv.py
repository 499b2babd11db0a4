"""conv family: ``conv2d``, ``conv_transpose2d`` (PyTorch semantics, NCHW) and
the shape helpers ``conv_output_shape``, ``receptive_field``, ``filters``.

Backend kernels (``_cpu``, ``backends.numba_cpu``), all on C-contiguous arrays:
    conv2d_fwd(out, x, w, bias, stride, padding, dilation, groups)
        out (N, F, oh, ow) = conv2d(x (N, C, H, W), w (F, C/groups, kh, kw)) + bias (F,)
    conv2d_bwd_data(dx, dout, w, bias, stride, padding, dilation, groups)
        dx (N, C, H, W) = data gradient of conv2d given dout (N, F, oh, ow), + bias (C,)
    conv2d_bwd(dx, dw, db, dout, x, w, stride, padding, dilation, groups)
        the gradients of conv2d; dx and db may be None (not wanted)
    conv_bias_grad(db, dout)                db (F,) = dout (N, F, h, w) summed over N, h, w
    conv_output_size(size, kernel, stride, padding, dilation)   the output-size formula
    conv_transpose_output_size(size, kernel, stride, padding, dilation, output_padding)

conv_transpose2d is conv2d's data gradient: its forward is conv2d_bwd_data and
its backward conv2d_fwd (dx) and conv2d_bwd with dx=None (dw) -- one
implementation. Backward passes recompute what they need from the inputs
(the cache holds only x, w, b), never stored im2col columns.
"""

from __future__ import annotations

import numpy as np

from .._alloc import empty
from .._cache import Cache
from .._dispatch import backend
from .._validate import device_of, float_array, grad_output, same_dtype

__all__ = [
    "conv2d", "conv2d_backward", "conv2d_forward",
    "conv_output_shape",
    "conv_transpose2d", "conv_transpose2d_backward", "conv_transpose2d_forward",
    "filters", "receptive_field",
]


def _int(op, name, v):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {v!r}")
    return int(v)


def pair(op, name, v, low):
    """v (an int or an (h, w) pair of ints) as a pair, each >= low, else TypeError/ValueError."""
    if isinstance(v, (tuple, list)) and len(v) == 2:
        t = (_int(op, name, v[0]), _int(op, name, v[1]))
    elif isinstance(v, (tuple, list)):
        raise ValueError(f"{op}: {name} must be an int or an (h, w) pair, got {v!r}")
    else:
        t = (_int(op, name, v),) * 2
    if t[0] < low or t[1] < low:
        raise ValueError(f"{op}: {name} must be >= {low}, got {v!r}")
    return t


def _sizer():
    # The output-size formula of the backend that runs convolutions here
    # (Conv2dParams' in C++, the same formula in the Numba backend).
    return backend("conv2d", "cpu", np.dtype(np.float64))


def _arrays(op, x, w, b):
    x = float_array("x", x)
    w = float_array("w", w)
    b = None if b is None else float_array("b", b)
    dtype = same_dtype(x=x, w=w, b=b)
    device = device_of(x=x, w=w, b=b)
    if x.ndim != 4:
        raise ValueError(f"{op}: x must be (N, C, H, W), got shape {tuple(x.shape)}")
    if w.ndim != 4:
        what = "(F, C/groups, kh, kw)" if op == "conv2d" else "(C, F/groups, kh, kw)"
        raise ValueError(f"{op}: w must be {what}, got shape {tuple(w.shape)}")
    if x.shape[1] < 1:
        raise ValueError(f"{op}: x must have at least one channel, got shape {tuple(x.shape)}")
    return x, w, b, dtype, device


def _groups(op, groups, x, w, out_channels):
    groups = _int(op, "groups", groups)
    if groups < 1:
        raise ValueError(f"{op}: groups must be >= 1, got {groups}")
    c = x.shape[1]
    if c % groups or out_channels % groups:
        raise ValueError(
            f"{op}: groups={groups} must divide the input channels ({c}, x {tuple(x.shape)}) "
            f"and the output channels ({out_channels}, w {tuple(w.shape)})")
    return groups


def _check_bias(op, b, channels, w):
    if b is not None and tuple(b.shape) != (channels,):
        raise ValueError(f"{op}: b must be ({channels},) to match w {tuple(w.shape)}, got {tuple(b.shape)}")


def _c(a):
    return None if a is None else np.ascontiguousarray(a)


# ---------------------------------------------------------------------------
# conv2d


def _conv2d_plan(x, w, b, stride, padding, dilation, groups):
    op = "conv2d"
    x, w, b, dtype, device = _arrays(op, x, w, b)
    f, cg, kh, kw = w.shape
    groups = _groups(op, groups, x, w, f)
    if cg * groups != x.shape[1] or f < 1:
        raise ValueError(
            f"{op}: channel mismatch: x {tuple(x.shape)} has {x.shape[1]} channels but w {tuple(w.shape)} "
            f"with groups={groups} expects {cg * groups} (w must be (F, C/groups, kh, kw))")
    _check_bias(op, b, f, w)
    stride = pair(op, "stride", stride, 1)
    padding = pair(op, "padding", padding, 0)
    dilation = pair(op, "dilation", dilation, 1)
    if kh < 1 or kw < 1:
        raise ValueError(f"{op}: kernel must be at least 1x1, got w {tuple(w.shape)}")
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    padded = (x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1])
    if span[0] > padded[0] or span[1] > padded[1]:
        raise ValueError(
            f"{op}: kernel {kh}x{kw} (dilation {dilation}) spans {span[0]}x{span[1]}, larger than the "
            f"padded input {padded[0]}x{padded[1]} (x {tuple(x.shape)}, padding {padding})")
    size = _sizer().conv_output_size
    oh = size(x.shape[2], kh, stride[0], padding[0], dilation[0])
    ow = size(x.shape[3], kw, stride[1], padding[1], dilation[1])
    params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return _c(x), _c(w), _c(b), dtype, device, (x.shape[0], f, oh, ow), params


def _conv2d(x, w, b, stride, padding, dilation, groups):
    x, w, b, dtype, device, shape, params = _conv2d_plan(x, w, b, stride, padding, dilation, groups)
    out = empty(shape, dtype, x)
    backend("conv2d", device, dtype).conv2d_fwd(out, x, w, b, **params)
    return out, x, w, b, params


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation): x (N, C, H, W), w (F, C/groups, kh, kw), b (F,) -> (N, F, oh, ow)."""
    return _conv2d(x, w, b, stride, padding, dilation, groups)[0]


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """(out, cache); the cache holds x, w, b (the backward recomputes the im2col columns)."""
    out, x, w, b, params = _conv2d(x, w, b, stride, padding, dilation, groups)
    return out, Cache("conv2d", {"x": x, "w": w, "b": b}, **params)


def conv2d_backward(dout, cache):
    """(dx, dw, db); db is None when the forward had no b."""
    x, w, b = cache.arrays["x"], cache.arrays["w"], cache.arrays["b"]
    p = cache.params
    size = _sizer().conv_output_size
    shape = (x.shape[0], w.shape[0],
             size(x.shape[2], w.shape[2], p["stride"][0], p["padding"][0], p["dilation"][0]),
             size(x.shape[3], w.shape[3], p["stride"][1], p["padding"][1], p["dilation"][1]))
    dout = np.ascontiguousarray(grad_output("dout", dout, shape, x.dtype))
    dx = empty(x.shape, x.dtype, x)
    dw = empty(w.shape, x.dtype, x)
    db = None if b is None else empty(b.shape, x.dtype, x)
    device = "cpu" if type(x) is np.ndarray else "gpu"
    backend("conv2d", device, x.dtype).conv2d_bwd(dx, dw, db, dout, x, w, **p)
    return dx, dw, db


# ---------------------------------------------------------------------------
# conv_transpose2d: the data gradient of the conv2d that maps its output back to x


def _conv_transpose2d_plan(x, w, b, stride, padding, output_padding, dilation, groups):
    op = "conv_transpose2d"
    x, w, b, dtype, device = _arrays(op, x, w, b)
    c, fg, kh, kw = w.shape
    if c != x.shape[1]:
        raise ValueError(
            f"{op}: channel mismatch: x {tuple(x.shape)} has {x.shape[1]} channels but w {tuple(w.shape)} "
            f"expects {c} (w must be (C, F/groups, kh, kw))")
    groups = _groups(op, groups, x, w, fg * _int(op, "groups", groups))
    f = fg * groups
    if f < 1 or kh < 1 or kw < 1:
        raise ValueError(f"{op}: w must have at least one output channel and a 1x1 kernel, got {tuple(w.shape)}")
    _check_bias(op, b, f, w)
    stride = pair(op, "stride", stride, 1)
    padding = pair(op, "padding", padding, 0)
    dilation = pair(op, "dilation", dilation, 1)
    output_padding = pair(op, "output_padding", output_padding, 0)
    for a in (0, 1):
        if output_padding[a] >= max(stride[a], dilation[a]):
            raise ValueError(
                f"{op}: output_padding {output_padding} must be smaller than stride {stride} "
                f"or dilation {dilation} along each axis")
    size = _sizer().conv_transpose_output_size
    ho = size(x.shape[2], kh, stride[0], padding[0], dilation[0], output_padding[0])
    wo = size(x.shape[3], kw, stride[1], padding[1], dilation[1], output_padding[1])
    if ho < 1 or wo < 1:
        raise ValueError(
            f"{op}: padding {padding} leaves no output for x {tuple(x.shape)} and w {tuple(w.shape)} "
            f"(output size {ho}x{wo})")
    params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return _c(x), _c(w), _c(b), dtype, device, (x.shape[0], f, ho, wo), params, output_padding


def _conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups):
    x, w, b, dtype, device, shape, params, op = _conv_transpose2d_plan(
        x, w, b, stride, padding, output_padding, dilation, groups)
    y = empty(shape, dtype, x)
    backend("conv_transpose2d", device, dtype).conv2d_bwd_data(y, x, w, b, **params)
    return y, x, w, b, params, op


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """Transposed 2-D convolution: x (N, C, H, W), w (C, F/groups, kh, kw), b (F,) -> (N, F, Ho, Wo)."""
    return _conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups)[0]


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """(y, cache); the cache holds x, w, b."""
    y, x, w, b, params, op = _conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups)
    return y, Cache("conv_transpose2d", {"x": x, "w": w, "b": b}, out_shape=y.shape, **params)


def conv_transpose2d_backward(dout, cache):
    """(dx, dw, db): dx = conv2d(dout, w), dw = conv2d's weight gradient with the roles of x and dout swapped."""
    x, w, b = cache.arrays["x"], cache.arrays["w"], cache.arrays["b"]
    p = dict(cache.params)
    shape = p.pop("out_shape")
    dout = np.ascontiguousarray(grad_output("dout", dout, shape, x.dtype))
    dx = empty(x.shape, x.dtype, x)
    dw = empty(w.shape, x.dtype, x)
    db = None if b is None else empty(b.shape, x.dtype, x)
    device = "cpu" if type(x) is np.ndarray else "gpu"
    be = backend("conv_transpose2d", device, x.dtype)
    be.conv_transpose2d_bwd(dx, dw, db, dout, x, w, **p)
    return dx, dw, db


# ---------------------------------------------------------------------------
# shape helpers and classic filters


def conv_output_shape(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """Output size of a convolution or pooling window: floor((H + 2p - d(k - 1) - 1) / s) + 1.

    input_size is an int (returns an int) or an (H, W) pair (returns a pair);
    kernel_size, stride, padding, dilation are ints or (h, w) pairs.
    """
    op = "conv_output_shape"
    scalar = not isinstance(input_size, (tuple, list))
    size = pair(op, "input_size", input_size, 1)
    k = pair(op, "kernel_size", kernel_size, 1)
    s = pair(op, "stride", stride, 1)
    p = pair(op, "padding", padding, 0)
    d = pair(op, "dilation", dilation, 1)
    out = tuple(_sizer().conv_output_size(size[a], k[a], s[a], p[a], d[a]) for a in (0, 1))
    if min(out) < 1:
        raise ValueError(f"{op}: kernel {k} (dilation {d}) is larger than the padded input {size} + 2 x {p}")
    return out[0] if scalar else out


def receptive_field(layers):
    """Receptive field (in input pixels) of one output unit after a stack of layers.

    layers: a sequence of (kernel, stride) or (kernel, stride, dilation) tuples,
    first layer first. r = 1 + sum_l (k_l - 1) d_l prod_{i<l} s_i (the course's formula).
    """
    r, jump = 1, 1
    for i, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) not in (2, 3):
            raise ValueError(f"receptive_field: layer {i} must be (kernel, stride) or (kernel, stride, dilation), "
                             f"got {layer!r}")
        k = _int("receptive_field", f"layer {i} kernel", layer[0])
        s = _int("receptive_field", f"layer {i} stride", layer[1])
        d = _int("receptive_field", f"layer {i} dilation", layer[2]) if len(layer) == 3 else 1
        if k < 1 or s < 1 or d < 1:
            raise ValueError(f"receptive_field: layer {i} needs kernel, stride, dilation >= 1, got {layer!r}")
        r += (k - 1) * d * jump
        jump *= s
    return r


_FIXED_FILTERS = {
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],        # d/dx (left to right)
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],        # d/dy (top to bottom)
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],        # 4-neighbour Laplacian
    "edge": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],      # 8-neighbour Laplacian edge detector
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
}
FILTER_NAMES = (*_FIXED_FILTERS, "box", "gaussian")


def filters(name, size=3, sigma=1.0, dtype=np.float64):
    """A classic (size, size) image filter, for conv2d as w[f, c] = filters(...).

    Names: 'sobel_x', 'sobel_y', 'laplacian', 'edge', 'sharpen' (3x3, `size`
    ignored), 'box' (mean of size x size) and 'gaussian' (normalised,
    standard deviation `sigma`, odd `size`).
    """
    if name in _FIXED_FILTERS:
        return np.array(_FIXED_FILTERS[name], dtype=dtype)
    size = _int("filters", "size", size)
    if name == "box":
        if size < 1:
            raise ValueError(f"filters: size must be >= 1, got {size}")
        return np.full((size, size), 1.0 / (size * size), dtype=dtype)
    if name == "gaussian":
        if size < 1 or size % 2 == 0:
            raise ValueError(f"filters: gaussian size must be odd and >= 1, got {size}")
        if not sigma > 0:
            raise ValueError(f"filters: sigma must be > 0, got {sigma}")
        t = np.arange(size) - size // 2
        g = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2.0 * sigma * sigma))
        return (g / g.sum()).astype(dtype)
    raise ValueError(f"filters: unknown filter {name!r}; expected one of {FILTER_NAMES}")
