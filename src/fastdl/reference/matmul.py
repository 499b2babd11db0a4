"""Reference matmul and affine (NumPy, from the formulas)."""

import math

import numpy as np

__all__ = ["affine_backward", "affine_forward", "matmul_backward", "matmul_forward", "unbroadcast"]


def unbroadcast(g, shape):
    """Sum g over the leading and size-1 dims that broadcasting added to `shape`."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    axes = tuple(d for d, n in enumerate(shape) if n == 1 and g.shape[d] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def matmul_forward(a, b):
    # a (..., M, K), b (..., K, N) -> (..., M, N); 1-D operands as in np.matmul
    return np.matmul(a, b), (a, b)


def matmul_backward(dout, cache):
    a, b = cache
    a2 = a[None, :] if a.ndim == 1 else a          # (..., M, K)
    b2 = b[:, None] if b.ndim == 1 else b          # (..., K, N)
    d = dout
    if a.ndim == 1:
        d = np.expand_dims(d, -2 if b.ndim > 1 else -1)
    if b.ndim == 1:
        d = np.expand_dims(d, -1)                  # (..., M, N)
    da = d @ np.swapaxes(b2, -1, -2)               # dL/da = dout b^T
    db = np.swapaxes(a2, -1, -2) @ d               # dL/db = a^T dout
    return unbroadcast(da, a2.shape).reshape(a.shape), unbroadcast(db, b2.shape).reshape(b.shape)


def affine_forward(x, w, b=None):
    # x (N, d1..dk) -> (N, D); w (D, M); b (M,)
    x2 = x.reshape(x.shape[0], math.prod(x.shape[1:]))
    y = x2 @ w
    if b is not None:
        y = y + b
    return y, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    x2 = x.reshape(x.shape[0], math.prod(x.shape[1:]))
    dx = (dout @ w.T).reshape(x.shape)             # (N, d1..dk)
    dw = x2.T @ dout                               # (D, M)
    db = None if b is None else dout.sum(axis=0)   # (M,)
    return dx, dw, db
