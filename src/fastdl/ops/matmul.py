"""matmul family: ``matmul`` (np.matmul semantics) and ``affine`` (x @ w + b).

Backend kernels (``_cpu``, ``backends.numba_cpu``):
    bmm(c, a, b, n_reduce)                 c[o] = sum_r a[o, r] @ b[o, r] over batch dims
    affine_fwd(y, x, w, bias)              y = x @ w + bias
    affine_bwd(dx, dw, dbias, dy, x, w)    dx = dy @ w^T, dw = x^T @ dy, dbias = sum_rows(dy)

Broadcast batch dims are never materialised: they reach the kernel as
stride-0 views, and the gradient of a broadcast operand is a batched GEMM
that sums over those dims (n_reduce) in a fixed order.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._alloc import empty
from .._cache import Cache
from .._dispatch import backend
from .._validate import device_of, expect_ndim, expect_shape, float_array, grad_output, same_dtype

__all__ = ["affine", "affine_backward", "affine_forward", "matmul", "matmul_backward", "matmul_forward"]

# ---------------------------------------------------------------------------
# matmul


def _operands(a, b):
    a = float_array("a", a)
    b = float_array("b", b)
    if a.dtype != b.dtype:
        raise TypeError(f"matmul: a is {a.dtype} but b is {b.dtype}; cast them to one dtype")
    device = "cpu" if type(a) is np.ndarray and type(b) is np.ndarray else device_of(a=a, b=b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: a and b need at least 1 dim, got shapes {a.shape} and {b.shape}")
    return a, b, device


def _plan(a, b):
    """Matrix views of a and b (1-D operands promoted as np.matmul does), the
    broadcast batch shape and the output shape."""
    a2 = a[None, :] if a.ndim == 1 else a  # (K,) -> (1, K)
    b2 = b[:, None] if b.ndim == 1 else b  # (K,) -> (K, 1)
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(
            f"matmul: a's last dim must equal b's {'only' if b.ndim == 1 else 'second-to-last'} dim; "
            f"got a {a.shape} and b {b.shape}"
        )
    try:
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    except ValueError:
        raise ValueError(
            f"matmul: batch dims {a.shape[:-2]} of a {a.shape} and {b.shape[:-2]} of b {b.shape} "
            "do not broadcast"
        ) from None
    out_shape = batch + a2.shape[-2:-1] * (a.ndim > 1) + b2.shape[-1:] * (b.ndim > 1)
    return a2, b2, batch, out_shape


def _reduced_bmm(be, shape, lhs, rhs, batch, like):
    """out (shape) = lhs @ rhs summed over the batch dims along which `shape`
    is broadcast; lhs (*batch, m, k) and rhs (*batch, k, n) are views."""
    nd = len(batch)
    padded = (1,) * (nd - len(shape) + 2) + tuple(shape)  # (*target batch padded to nd, m, n)
    out = empty(shape, lhs.dtype, like)
    red = [d for d in range(nd) if padded[d] == 1 and batch[d] != 1]
    view = out.reshape(padded)
    if not red:
        be.bmm(view.reshape(batch + padded[-2:]), lhs, rhs, 0)
        return out
    strides = list(view.strides)
    for d in red:
        strides[d] = 0
    view = as_strided(view, batch + padded[-2:], strides)
    perm = [d for d in range(nd) if d not in red] + red + [nd, nd + 1]
    be.bmm(view.transpose(perm), lhs.transpose(perm), rhs.transpose(perm), len(red))
    return out


def _matmul(a, b):
    a, b, device = _operands(a, b)
    be = backend("matmul", device, a.dtype)
    if a.ndim == 2 and b.ndim == 2:  # the common case, kept short
        if a.shape[1] != b.shape[0]:
            _plan(a, b)  # raises with the full message
        out = empty((a.shape[0], b.shape[1]), a.dtype, a)
        be.bmm(out, a, b, 0)
        return out, a, b
    a2, b2, batch, out_shape = _plan(a, b)
    m, k, n = a2.shape[-2], a2.shape[-1], b2.shape[-1]
    if b2.ndim == 2 and a2.flags.c_contiguous:  # (..., m, k) @ (k, n): one GEMM
        rows = math.prod(a2.shape[:-1])
        out = empty(a2.shape[:-1] + (n,), a.dtype, a)
        be.bmm(out.reshape(rows, n), a2.reshape(rows, k), b2, 0)
    else:
        out = empty(batch + (m, n), a.dtype, a)
        be.bmm(out, np.broadcast_to(a2, batch + (m, k)), np.broadcast_to(b2, batch + (k, n)), 0)
    return out.reshape(out_shape), a, b


def matmul(a, b):
    """a @ b with np.matmul semantics (1-D promotion, broadcast batch dims)."""
    return _matmul(a, b)[0]


def matmul_forward(a, b):
    """(a @ b, cache)."""
    out, a, b = _matmul(a, b)
    return out, Cache("matmul", {"a": a, "b": b})


def matmul_backward(dout, cache):
    """(da, db): dout @ b^T and a^T @ dout, summed over broadcast dims."""
    a, b = cache.arrays["a"], cache.arrays["b"]
    be = backend("matmul", "cpu" if type(a) is np.ndarray else "gpu", a.dtype)
    a2, b2, batch, out_shape = _plan(a, b)
    dout = grad_output("dout", dout, out_shape, a.dtype)
    k, n = a2.shape[-1], b2.shape[-1]
    if b2.ndim == 2 and a2.ndim >= 2 and a2.flags.c_contiguous:  # one GEMM each
        rows = math.prod(a2.shape[:-1])
        d2 = dout.reshape(rows, n)
        da = empty(a2.shape, a.dtype, a)
        be.bmm(da.reshape(rows, k), d2, b2.T, 0)
        db = empty(b2.shape, a.dtype, a)
        be.bmm(db, a2.reshape(rows, k).T, d2, 0)
        return da.reshape(a.shape), db.reshape(b.shape)
    m = a2.shape[-2]
    d3 = dout.reshape(batch + (m, n))
    ab = np.broadcast_to(a2, batch + (m, k))
    bb = np.broadcast_to(b2, batch + (k, n))
    da = _reduced_bmm(be, a2.shape, d3, bb.swapaxes(-1, -2), batch, a)
    db = _reduced_bmm(be, b2.shape, ab.swapaxes(-1, -2), d3, batch, a)
    return da.reshape(a.shape), db.reshape(b.shape)


# ---------------------------------------------------------------------------
# affine: x (N, d1, ..., dk) flattened to (N, D); w (D, M); b (M,) or None


def _affine(x, w, b):
    x = float_array("x", x)
    w = float_array("w", w)
    b = None if b is None else float_array("b", b)
    dtype = same_dtype(x=x, w=w, b=b)
    device = device_of(x=x, w=w, b=b)
    if x.ndim < 2:
        raise ValueError(f"affine: x must be (N, d1, ..., dk) with at least 2 dims, got shape {x.shape}")
    n, d = x.shape[0], math.prod(x.shape[1:])
    expect_ndim("w", w, 2)
    if w.shape[0] != d:
        raise ValueError(
            f"affine: w must be ({d}, M) to match x {x.shape} flattened to ({n}, {d}), got w {w.shape}"
        )
    m = w.shape[1]
    if b is not None:
        expect_shape("b", b, (m,), f" to match w {w.shape}")
        b = np.ascontiguousarray(b)
    x2 = x.reshape(n, d)
    y = empty((n, m), dtype, x)
    backend("affine", device, dtype).affine_fwd(y, x2, w, b)
    return y, x2, w, b


def affine(x, w, b=None):
    """x.reshape(N, -1) @ w + b."""
    return _affine(x, w, b)[0]


def affine_forward(x, w, b=None):
    """(y, cache) with y = x.reshape(N, -1) @ w + b."""
    y, x2, w, b = _affine(x, w, b)
    return y, Cache("affine", {"x": x2, "w": w, "b": b}, x_shape=np.shape(x))


def affine_backward(dout, cache):
    """(dx, dw, db); db is None when the forward had no b."""
    x2, w, b = cache.arrays["x"], cache.arrays["w"], cache.arrays["b"]
    n, d, m = x2.shape[0], x2.shape[1], w.shape[1]
    dout = np.ascontiguousarray(grad_output("dout", dout, (n, m), x2.dtype))
    dx = empty((n, d), x2.dtype, x2)
    dw = empty((d, m), x2.dtype, x2)
    db = None if b is None else empty((m,), x2.dtype, x2)
    device = "cpu" if type(x2) is np.ndarray else "gpu"
    backend("affine", device, x2.dtype).affine_bwd(dx, dw, db, dout, x2, w)
    return dx.reshape(cache.params["x_shape"]), dw, db
