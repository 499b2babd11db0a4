"""Reference softmax and log_softmax (NumPy, from the formulas)."""

import numpy as np

__all__ = ["log_softmax_backward", "log_softmax_forward", "softmax_backward", "softmax_forward"]


def softmax_forward(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True, initial=-np.inf))
    y = e / e.sum(axis=axis, keepdims=True)
    return y, (y, axis)


def softmax_backward(dout, cache):
    y, axis = cache
    return (y * (dout - (dout * y).sum(axis=axis, keepdims=True)),)


def log_softmax_forward(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True, initial=-np.inf)
    with np.errstate(divide="ignore"):  # an empty axis: log(0), broadcast over nothing
        y = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return y, (y, axis)


def log_softmax_backward(dout, cache):
    y, axis = cache
    return (dout - np.exp(y) * dout.sum(axis=axis, keepdims=True),)
