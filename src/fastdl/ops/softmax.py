"""softmax family: ``softmax`` and ``log_softmax`` over any axis, max-shifted.

Backend kernels (``_cpu``, ``backends.numba_cpu``):
    softmax_fwd(y, x, log)          x, y (outer, c, inner): softmax (log: log_softmax) over c
    softmax_bwd(dx, y, dy, log)     from the forward output y: y (dy - sum dy y) / dy - exp(y) sum dy

The axis is folded into an (outer, c, inner) view of the C-contiguous input,
so any axis costs no transpose. The cache holds only the output y.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .._alloc import empty
from .._cache import Cache
from .._dispatch import backend
from .._validate import device_of, float_array, grad_output, out_array

__all__ = ["log_softmax", "log_softmax_backward", "log_softmax_forward", "softmax", "softmax_backward",
           "softmax_forward"]


def _axis(axis, ndim, op):
    try:
        a = operator.index(axis)
    except TypeError:
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}") from None
    if not -ndim <= a < ndim:
        raise ValueError(f"{op}: axis {a} is out of range for x with {ndim} dims")
    return a % ndim


def _slab(shape, axis):
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def _softmax(op, x, axis, log, out=None):
    x = float_array("x", x)
    device = "cpu" if type(x) is np.ndarray else device_of(x=x)
    if x.ndim == 0:
        raise ValueError(f"{op}: x needs at least 1 dim, got a 0-d array")
    axis = _axis(axis, x.ndim, op)
    if device == "cpu":
        x = np.ascontiguousarray(x)
    shape3 = _slab(x.shape, axis)
    y = empty(x.shape, x.dtype, x) if out is None else out_array(out, x.shape, x.dtype, x)
    backend(op, device, x.dtype).softmax_fwd(y.reshape(shape3), x.reshape(shape3), log)
    return y, Cache(op, {"y": y}, shape3=shape3, log=log)


def _softmax_backward(dout, cache):
    y = cache.arrays["y"]
    device = "cpu" if type(y) is np.ndarray else "gpu"
    dout = grad_output("dout", dout, y.shape, y.dtype)
    if device == "cpu":
        dout = np.ascontiguousarray(dout)
    shape3 = cache.params["shape3"]
    dx = empty(y.shape, y.dtype, y)
    backend(cache.op, device, y.dtype).softmax_bwd(dx.reshape(shape3), y.reshape(shape3), dout.reshape(shape3),
                                                  cache.params["log"])
    return (dx,)


def softmax(x, axis=-1, out=None):
    """exp(x - max) / sum(exp(x - max)) along `axis`; into `out` when given (out=x: in place)."""
    return _softmax("softmax", x, axis, False, out)[0]


def softmax_forward(x, axis=-1):
    return _softmax("softmax", x, axis, False)


def softmax_backward(dout, cache):
    """(dx,) = (y * (dout - sum(dout * y, axis)),)."""
    return _softmax_backward(dout, cache)


def log_softmax(x, axis=-1, out=None):
    """x - max - log(sum(exp(x - max))) along `axis`; into `out` when given."""
    return _softmax("log_softmax", x, axis, True, out)[0]


def log_softmax_forward(x, axis=-1):
    return _softmax("log_softmax", x, axis, True)


def log_softmax_backward(dout, cache):
    """(dx,) = (dout - exp(y) * sum(dout, axis),)."""
    return _softmax_backward(dout, cache)
