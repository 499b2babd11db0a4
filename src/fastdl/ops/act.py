"""act family: elementwise activations, ``prelu`` and ``maxout``.

Backend kernels (``_cpu``, ``backends.numba_cpu``); op codes as in csrc/cpu/act.h:
    act_fwd(y, x, op, alpha)                   y = op(x) elementwise (alpha: leaky_relu, elu)
    act_bwd(dx, a, dy, op, alpha)              dx from dy and a = y (sigmoid, tanh, relu) or x (the rest)
    prelu_fwd(y, x, alpha)                     x, y (n, c, s); alpha (c,)
    prelu_bwd(dx, dalpha, dy, x, alpha)        dalpha summed in a fixed order
    maxout_fwd(y, z, pieces)                   z (n, pieces * m) -> y (n, m)
    maxout_bwd(dz, dy, z, pieces)              dy routed to the first maximum

Inputs of any layout are made C-contiguous once; outputs are new C-contiguous
arrays, or the caller's ``out=`` buffer for the inference entry points
(``fd.relu(x, out=y)``; ``out=x`` works in place). The caches hold what backward reads: the output y where the
derivative is a function of y (so no second copy of x stays alive), else x.
The common case -- a C-contiguous float NumPy array -- takes a short path
(these are the ops called on tiny arrays in loops).
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .._alloc import empty
from .._cache import Cache
from .._dispatch import backend
from .._validate import FLOAT_DTYPES, device_of, expect_ndim, float_array, grad_output, out_array, same_dtype

__all__ = [
    "elu", "elu_backward", "elu_forward", "gelu", "gelu_backward", "gelu_forward", "leaky_relu",
    "leaky_relu_backward", "leaky_relu_forward", "maxout", "maxout_backward", "maxout_forward", "prelu",
    "prelu_backward", "prelu_forward", "relu", "relu_backward", "relu_forward", "sigmoid", "sigmoid_backward",
    "sigmoid_forward", "silu", "silu_backward", "silu_forward", "tanh", "tanh_backward", "tanh_forward",
]

# kernel op codes (csrc/cpu/act.h, enum Act)
SIGMOID, TANH, RELU, LEAKY_RELU, ELU, GELU, GELU_TANH, SILU = range(8)
_READS_Y = (True, True, True, False, False, False, False, False)  # act_bwd's `a` is y (else x)
_F32, _F64 = FLOAT_DTYPES


def _input(x, name="x"):
    """(x as a C-contiguous float array, device)."""
    if type(x) is np.ndarray and (x.dtype is _F32 or x.dtype is _F64 or x.dtype in FLOAT_DTYPES):
        return (x if x.flags.c_contiguous else np.ascontiguousarray(x)), "cpu"
    x = float_array(name, x)
    if type(x) is np.ndarray:
        return np.ascontiguousarray(x), "cpu"
    return x, device_of(**{name: x})


def _scalar(name, v):
    try:
        return float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a real number, got {type(v).__name__}") from None


def _act(op, code, x, alpha, out=None):
    x, device = _input(x)
    if out is None:
        y = empty(x.shape, x.dtype, None if device == "cpu" else x)  # (skips a failing attribute probe)
    else:
        y = out_array(out, x.shape, x.dtype, x)
    backend(op, device, x.dtype).act_fwd(y, x, code, alpha)
    return x, y


def _act_forward(op, code, x, alpha):
    x, y = _act(op, code, x, alpha)
    return y, Cache(op, {"a": y if _READS_Y[code] else x}, code=code, alpha=alpha)


def _act_backward(dout, cache):
    a = cache.arrays["a"]
    device = "cpu" if type(a) is np.ndarray else "gpu"
    dout = grad_output("dout", dout, a.shape, a.dtype)
    if device == "cpu":
        dout = np.ascontiguousarray(dout)
    dx = empty(a.shape, a.dtype, a)
    backend(cache.op, device, a.dtype).act_bwd(dx, a, dout, cache.params["code"], cache.params["alpha"])
    return (dx,)


# ---------------------------------------------------------------------------
# elementwise activations


def sigmoid(x, out=None):
    """1 / (1 + exp(-x)); into `out` when given (out=x: in place)."""
    return _act("sigmoid", SIGMOID, x, 0.0, out)[1]


def sigmoid_forward(x):
    return _act_forward("sigmoid", SIGMOID, x, 0.0)


def sigmoid_backward(dout, cache):
    """(dx,) = (dout * y * (1 - y),)."""
    return _act_backward(dout, cache)


def tanh(x, out=None):
    return _act("tanh", TANH, x, 0.0, out)[1]


def tanh_forward(x):
    return _act_forward("tanh", TANH, x, 0.0)


def tanh_backward(dout, cache):
    """(dx,) = (dout * (1 - y^2),)."""
    return _act_backward(dout, cache)


def relu(x, out=None):
    """max(x, 0); NaN stays NaN."""
    return _act("relu", RELU, x, 0.0, out)[1]


def relu_forward(x):
    return _act_forward("relu", RELU, x, 0.0)


def relu_backward(dout, cache):
    """(dx,) = (dout where x > 0 else 0,)."""
    return _act_backward(dout, cache)


def leaky_relu(x, alpha=0.01, out=None):
    """x if x > 0 else alpha * x."""
    return _act("leaky_relu", LEAKY_RELU, x, _scalar("alpha", alpha), out)[1]


def leaky_relu_forward(x, alpha=0.01):
    return _act_forward("leaky_relu", LEAKY_RELU, x, _scalar("alpha", alpha))


def leaky_relu_backward(dout, cache):
    return _act_backward(dout, cache)


def elu(x, alpha=1.0, out=None):
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return _act("elu", ELU, x, _scalar("alpha", alpha), out)[1]


def elu_forward(x, alpha=1.0):
    return _act_forward("elu", ELU, x, _scalar("alpha", alpha))


def elu_backward(dout, cache):
    return _act_backward(dout, cache)


def _gelu_code(approximate):
    if approximate == "none":
        return GELU
    if approximate == "tanh":
        return GELU_TANH
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def gelu(x, approximate="none", out=None):
    """x * Phi(x); approximate='tanh': 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return _act("gelu", _gelu_code(approximate), x, 0.0, out)[1]


def gelu_forward(x, approximate="none"):
    return _act_forward("gelu", _gelu_code(approximate), x, 0.0)


def gelu_backward(dout, cache):
    return _act_backward(dout, cache)


def silu(x, out=None):
    """x * sigmoid(x) (swish)."""
    return _act("silu", SILU, x, 0.0, out)[1]


def silu_forward(x):
    return _act_forward("silu", SILU, x, 0.0)


def silu_backward(dout, cache):
    return _act_backward(dout, cache)


# ---------------------------------------------------------------------------
# prelu: x (N, C, ...) with alpha (C,) on axis 1, or alpha (1,) everywhere


def _prelu(x, alpha, out=None):
    x = float_array("x", x)
    alpha = float_array("alpha", alpha)
    dtype = same_dtype(x=x, alpha=alpha)
    device = device_of(x=x, alpha=alpha)
    if x.ndim == 0:
        raise ValueError("prelu: x needs at least 1 dim, got a 0-d array")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if alpha.ndim != 1 or alpha.shape[0] not in (1, channels):
        want = f"(1,) or ({channels},)" if channels != 1 else "(1,)"
        raise ValueError(f"prelu: alpha must be {want} for x {tuple(x.shape)} (channels on axis 1), "
                         f"got {tuple(alpha.shape)}")
    if device == "cpu":
        x, alpha = np.ascontiguousarray(x), np.ascontiguousarray(alpha)
    if alpha.shape[0] == 1:  # one alpha: each sample is one channel of everything
        n = x.shape[0] if x.ndim >= 2 else 1
        x3 = x.reshape(n, 1, math.prod(x.shape) // max(n, 1))
    else:
        x3 = x.reshape(x.shape[0], channels, math.prod(x.shape[2:]))
    y = empty(x.shape, dtype, x) if out is None else out_array(out, x.shape, dtype, x, alpha)
    backend("prelu", device, dtype).prelu_fwd(y.reshape(x3.shape), x3, alpha)
    return y, x, x3, alpha, device


def prelu(x, alpha, out=None):
    """x if x > 0 else alpha * x, alpha per channel (axis 1) or one for all."""
    return _prelu(x, alpha, out)[0]


def prelu_forward(x, alpha):
    y, x, x3, alpha, _ = _prelu(x, alpha)
    return y, Cache("prelu", {"x": x, "alpha": alpha}, shape3=x3.shape)


def prelu_backward(dout, cache):
    """(dx, dalpha)."""
    x, alpha = cache.arrays["x"], cache.arrays["alpha"]
    device = "cpu" if type(x) is np.ndarray else "gpu"
    dout = grad_output("dout", dout, x.shape, x.dtype)
    if device == "cpu":
        dout = np.ascontiguousarray(dout)
    shape3 = cache.params["shape3"]
    dx = empty(x.shape, x.dtype, x)
    dalpha = empty(alpha.shape, x.dtype, x)
    backend("prelu", device, x.dtype).prelu_bwd(dx.reshape(shape3), dalpha, dout.reshape(shape3),
                                               x.reshape(shape3), alpha)
    return dx, dalpha


# ---------------------------------------------------------------------------
# maxout: z (N, pieces * M) -> y (N, M), the max over the pieces blocks


def _pieces(pieces):
    try:
        p = operator.index(pieces)
    except TypeError:
        raise TypeError(f"maxout: pieces must be an int, got {type(pieces).__name__}") from None
    if p < 1:
        raise ValueError(f"maxout: pieces must be >= 1, got {p}")
    return p


def _maxout(z, pieces, out=None):
    z, device = _input(z, "z")
    pieces = _pieces(pieces)
    expect_ndim("z", z, 2, " (N, pieces * M)")
    if z.shape[1] % pieces:
        raise ValueError(f"maxout: z's second dim {z.shape[1]} is not a multiple of pieces={pieces} "
                         f"(z {tuple(z.shape)})")
    shape = (z.shape[0], z.shape[1] // pieces)
    y = empty(shape, z.dtype, z) if out is None else out_array(out, shape, z.dtype, z)
    backend("maxout", device, z.dtype).maxout_fwd(y, z, pieces)
    return y, z, pieces


def maxout(z, pieces, out=None):
    """z.reshape(N, pieces, M).max(1)."""
    return _maxout(z, pieces, out)[0]


def maxout_forward(z, pieces):
    y, z, pieces = _maxout(z, pieces)
    return y, Cache("maxout", {"z": z}, pieces=pieces)


def maxout_backward(dout, cache):
    """(dz,): dout routed to the first maximum of each group."""
    z, pieces = cache.arrays["z"], cache.params["pieces"]
    device = "cpu" if type(z) is np.ndarray else "gpu"
    dout = grad_output("dout", dout, (z.shape[0], z.shape[1] // pieces), z.dtype)
    if device == "cpu":
        dout = np.ascontiguousarray(dout)
    dz = empty(z.shape, z.dtype, z)
    backend("maxout", device, z.dtype).maxout_bwd(dz, dout, z, pieces)
    return (dz,)
