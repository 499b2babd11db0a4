"""Reference activations (NumPy, from the formulas)."""

import math

import numpy as np

__all__ = [
    "elu_backward", "elu_forward", "gelu_backward", "gelu_forward", "leaky_relu_backward", "leaky_relu_forward",
    "maxout_backward", "maxout_forward", "prelu_backward", "prelu_forward", "relu_backward", "relu_forward",
    "sigmoid_backward", "sigmoid_forward", "silu_backward", "silu_forward", "tanh_backward", "tanh_forward",
]

_erf = np.vectorize(math.erf, otypes=[np.float64])


def logistic(x):
    """1 / (1 + e^-x) without overflow: e^-|x| never exceeds 1 (a plain e^-x
    overflows float32 below x = -88 and NumPy warns)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


def erf(x):
    return _erf(x).astype(x.dtype)


def sigmoid_forward(x):
    y = logistic(x)
    return y, (y,)


def sigmoid_backward(dout, cache):
    (y,) = cache
    return (dout * y * (1 - y),)


def tanh_forward(x):
    y = np.tanh(x)
    return y, (y,)


def tanh_backward(dout, cache):
    (y,) = cache
    return (dout * (1 - y * y),)


def relu_forward(x):
    return np.maximum(x, 0), (x,)


def relu_backward(dout, cache):
    (x,) = cache
    return (np.where(x > 0, dout, 0).astype(dout.dtype),)


def leaky_relu_forward(x, alpha=0.01):
    return np.where(x > 0, x, alpha * x).astype(x.dtype), (x, alpha)


def leaky_relu_backward(dout, cache):
    x, alpha = cache
    return (np.where(x > 0, dout, alpha * dout).astype(dout.dtype),)


def elu_forward(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(x)).astype(x.dtype), (x, alpha)


def elu_backward(dout, cache):
    x, alpha = cache
    return (np.where(x > 0, dout, dout * alpha * np.exp(x)).astype(dout.dtype),)


def gelu_forward(x, approximate="none"):
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        y = 0.5 * x * (1 + np.tanh(k * (x + 0.044715 * x**3)))
    else:
        y = 0.5 * x * (1 + erf(x / math.sqrt(2)))
    return y.astype(x.dtype), (x, approximate)


def gelu_backward(dout, cache):
    x, approximate = cache
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        t = np.tanh(k * (x + 0.044715 * x**3))
        dy = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
    else:
        cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        dy = cdf + x * pdf
    return ((dout * dy).astype(dout.dtype),)


def silu_forward(x):
    return x * logistic(x), (x,)


def silu_backward(dout, cache):
    (x,) = cache
    s = logistic(x)
    return (dout * s * (1 + x * (1 - s)),)


def _channel_view(alpha, ndim):
    # alpha (C,) on axis 1 of an ndim array; a single alpha broadcasts everywhere
    return alpha if alpha.size == 1 else alpha.reshape((1, -1) + (1,) * (ndim - 2))


def prelu_forward(x, alpha):
    # x (N, C, ...), alpha (1,) or (C,)
    a = _channel_view(alpha, x.ndim)
    return np.where(x > 0, x, a * x).astype(x.dtype), (x, alpha)


def prelu_backward(dout, cache):
    x, alpha = cache
    a = _channel_view(alpha, x.ndim)
    dx = np.where(x > 0, dout, a * dout)
    contrib = np.where(x > 0, 0, x * dout)
    if alpha.size == 1:
        dalpha = contrib.sum().reshape(alpha.shape)
    else:
        dalpha = contrib.sum(axis=tuple(d for d in range(x.ndim) if d != 1))
    return dx.astype(x.dtype), dalpha.astype(x.dtype)


def maxout_forward(z, pieces):
    # z (N, pieces * M) -> (N, M)
    n = z.shape[0]
    zr = z.reshape(n, pieces, z.shape[1] // pieces)
    return zr.max(axis=1), (z, pieces)


def maxout_backward(dout, cache):
    z, pieces = cache
    n = z.shape[0]
    zr = z.reshape(n, pieces, z.shape[1] // pieces)
    idx = zr.argmax(axis=1)                            # first maximum, (N, M)
    dz = np.zeros_like(zr)
    np.put_along_axis(dz, idx[:, None, :], dout[:, None, :], axis=1)
    return (dz.reshape(z.shape),)
