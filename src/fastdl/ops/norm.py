"""norm family: ``batch_norm``, ``layer_norm``, ``group_norm``, ``instance_norm`` (PyTorch semantics).

Backend kernels (``_cpu``, ``backends.numba_cpu``); every array C-contiguous:
    row_norm_fwd(y, mean, rstd, x, gamma, beta, groups, cg, s, eps)
    row_norm_bwd(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, groups, cg, s)
        x (rows, cg * s): every row normalised on its own; row r's channel c uses
        gamma/beta[(r % groups) * cg + c]. layer_norm, group_norm and instance_norm
        are this kernel with different (groups, cg, s).
    batch_norm_fwd(y, mean, rstd, running_mean, running_var, x, gamma, beta, training, momentum, eps)
    batch_norm_bwd(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, training)
        x (N, C, *spatial): channel c normalised over its N * prod(spatial) elements.
gamma/beta may be None (no affine part): their gradients are then None and the
kernels skip them. mean and rstd = 1 / sqrt(var + eps) are what the cache keeps
besides the inputs; backward recomputes xhat from x.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .._alloc import empty
from .._cache import Cache
from .._dispatch import backend
from .._validate import device_of, float_array, grad_output, same_dtype

__all__ = [
    "batch_norm", "batch_norm_backward", "batch_norm_forward",
    "group_norm", "group_norm_backward", "group_norm_forward",
    "instance_norm", "instance_norm_backward", "instance_norm_forward",
    "layer_norm", "layer_norm_backward", "layer_norm_forward",
]


def _optional(name, a):
    return None if a is None else float_array(name, a)


def _params(op, x, expected, what, **arrays):
    """Contiguous gamma/beta-like arrays of shape `expected`, else ValueError with shapes."""
    out = []
    for name, a in arrays.items():
        if a is not None and tuple(a.shape) != tuple(expected):
            raise ValueError(f"{op}: {name} must have shape {tuple(expected)} ({what} of x {x.shape}), "
                             f"got {tuple(a.shape)}")
        out.append(None if a is None else np.ascontiguousarray(a))
    return out


def _int(name, v):
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{name}: expected an int, got {type(v).__name__}") from None


def _device(x):
    return "cpu" if type(x) is np.ndarray else "gpu"


# ---------------------------------------------------------------------------
# batch_norm: x (N, C, *spatial); gamma, beta, running_mean, running_var (C,)


def _batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    x = float_array("x", x)
    gamma, beta = _optional("gamma", gamma), _optional("beta", beta)
    rm, rv = _optional("running_mean", running_mean), _optional("running_var", running_var)
    dtype = same_dtype(x=x, gamma=gamma, beta=beta, running_mean=rm, running_var=rv)
    device = device_of(x=x, gamma=gamma, beta=beta, running_mean=rm, running_var=rv)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: x must be (N, D) or (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    gamma, beta = _params("batch_norm", x, (c,), "C = x.shape[1]", gamma=gamma, beta=beta)
    for name, a in (("running_mean", rm), ("running_var", rv)):
        if a is not None and a.shape != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) (C = x.shape[1] of x {x.shape}), "
                             f"got {a.shape}")
    if (rm is None) != (rv is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    training = bool(training)
    momentum, eps = float(momentum), float(eps)
    count = x.size // c if c else 0
    if training:
        if count == 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got x {x.shape}")
        if rm is not None and not (rm.flags.writeable and rv.flags.writeable):
            raise ValueError("batch_norm: running_mean and running_var are updated in place and must be writeable")
    elif rm is None:
        raise ValueError("batch_norm: evaluation (training=False) needs running_mean and running_var")
    # the kernel updates contiguous running stats in place; other layouts go through a copy
    rm_k = None if rm is None else np.ascontiguousarray(rm)
    rv_k = None if rv is None else np.ascontiguousarray(rv)
    x = np.ascontiguousarray(x)
    y = empty(x.shape, dtype, x)
    mean, rstd = empty((c,), dtype, x), empty((c,), dtype, x)
    backend("batch_norm", device, dtype).batch_norm_fwd(y, mean, rstd, rm_k, rv_k, x, gamma, beta,
                                                        training, momentum, eps)
    if training and rm is not None:
        if rm_k is not rm:
            rm[...] = rm_k
        if rv_k is not rv:
            rv[...] = rv_k
    return y, Cache("batch_norm", {"x": x, "mean": mean, "rstd": rstd, "gamma": gamma, "beta": beta},
                    training=training)


def batch_norm(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    """Batch normalisation over every axis but 1; in training, running stats are updated in place."""
    return _batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps)[0]


def batch_norm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    """(y, cache); in training running_mean/running_var (if given) are updated in place."""
    return _batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps)


def batch_norm_backward(dout, cache):
    """(dx, dgamma, dbeta); dgamma/dbeta None where gamma/beta were None."""
    a = cache.arrays
    x, gamma, beta = a["x"], a["gamma"], a["beta"]
    dout = np.ascontiguousarray(grad_output("dout", dout, x.shape, x.dtype))
    c = x.shape[1]
    dx = empty(x.shape, x.dtype, x)
    dgamma = None if gamma is None else empty((c,), x.dtype, x)
    dbeta = None if beta is None else empty((c,), x.dtype, x)
    backend("batch_norm", _device(x), x.dtype).batch_norm_bwd(
        dx, dgamma, dbeta, dout, x, a["mean"], a["rstd"], gamma, cache.params["training"])
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------
# row norms: layer_norm, group_norm, instance_norm


def _row_norm(op, x, gamma, beta, eps, rows, groups, cg, s, param_shape, what):
    """Shared body: validate gamma/beta against param_shape, run row_norm_fwd on x (rows, cg * s)."""
    dtype = same_dtype(x=x, gamma=gamma, beta=beta)
    device = device_of(x=x, gamma=gamma, beta=beta)
    gamma, beta = _params(op, x, param_shape, what, gamma=gamma, beta=beta)
    x = np.ascontiguousarray(x)
    y = empty(x.shape, dtype, x)
    mean, rstd = empty((rows,), dtype, x), empty((rows,), dtype, x)
    backend(op, device, dtype).row_norm_fwd(y, mean, rstd, x, gamma, beta, groups, cg, s, float(eps))
    return y, Cache(op, {"x": x, "mean": mean, "rstd": rstd, "gamma": gamma, "beta": beta},
                    groups=groups, cg=cg, s=s)


def _row_norm_backward(dout, cache):
    a, p = cache.arrays, cache.params
    x, gamma, beta = a["x"], a["gamma"], a["beta"]
    dout = np.ascontiguousarray(grad_output("dout", dout, x.shape, x.dtype))
    dx = empty(x.shape, x.dtype, x)
    dgamma = None if gamma is None else empty(gamma.shape, x.dtype, x)
    dbeta = None if beta is None else empty(beta.shape, x.dtype, x)
    backend(cache.op, _device(x), x.dtype).row_norm_bwd(
        dx, dgamma, dbeta, dout, x, a["mean"], a["rstd"], gamma, p["groups"], p["cg"], p["s"])
    return dx, dgamma, dbeta


def _layer_norm(x, gamma, beta, normalized_ndim, eps):
    x = float_array("x", x)
    gamma, beta = _optional("gamma", gamma), _optional("beta", beta)
    k = _int("normalized_ndim", normalized_ndim)
    if not 1 <= k <= x.ndim:
        raise ValueError(f"layer_norm: normalized_ndim must be in [1, x.ndim = {x.ndim}], got {k}")
    shape = x.shape[x.ndim - k:]
    rows = math.prod(x.shape[: x.ndim - k])
    return _row_norm("layer_norm", x, gamma, beta, eps, rows, 1, math.prod(shape), 1, shape,
                     f"the last {k} dim(s)")


def layer_norm(x, gamma, beta, normalized_ndim=1, eps=1e-5):
    """Normalise over the last `normalized_ndim` dims; gamma, beta have those dims' shape (or None)."""
    return _layer_norm(x, gamma, beta, normalized_ndim, eps)[0]


def layer_norm_forward(x, gamma, beta, normalized_ndim=1, eps=1e-5):
    """(y, cache)."""
    return _layer_norm(x, gamma, beta, normalized_ndim, eps)


def layer_norm_backward(dout, cache):
    """(dx, dgamma, dbeta)."""
    return _row_norm_backward(dout, cache)


def _group_norm(x, num_groups, gamma, beta, eps, op="group_norm"):
    x = float_array("x", x)
    gamma, beta = _optional("gamma", gamma), _optional("beta", beta)
    g = _int("num_groups", num_groups)
    if x.ndim < 2:
        raise ValueError(f"{op}: x must be (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    if g < 1 or c % g:
        raise ValueError(f"{op}: num_groups must be >= 1 and divide C = {c} (x {x.shape}), got {g}")
    s = math.prod(x.shape[2:])
    return _row_norm(op, x, gamma, beta, eps, x.shape[0] * g, g, c // g, s, (c,), "C = x.shape[1]")


def group_norm(x, num_groups, gamma, beta, eps=1e-5):
    """Normalise each sample over groups of C / num_groups channels (and all spatial dims)."""
    return _group_norm(x, num_groups, gamma, beta, eps)[0]


def group_norm_forward(x, num_groups, gamma, beta, eps=1e-5):
    """(y, cache)."""
    return _group_norm(x, num_groups, gamma, beta, eps)


def group_norm_backward(dout, cache):
    """(dx, None, dgamma, dbeta): one entry per input, None for the integer num_groups."""
    dx, dgamma, dbeta = _row_norm_backward(dout, cache)
    return dx, None, dgamma, dbeta


def _instance_norm(x, gamma, beta, eps):
    x = float_array("x", x)
    if x.ndim < 3:
        raise ValueError(f"instance_norm: x must be (N, C, *spatial) with at least one spatial dim, got shape {x.shape}")
    if math.prod(x.shape[2:]) == 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element per channel, got x {x.shape}")
    return _group_norm(x, x.shape[1], gamma, beta, eps, op="instance_norm")


def instance_norm(x, gamma, beta, eps=1e-5):
    """Normalise each (sample, channel) over its spatial dims (input statistics, no running stats)."""
    return _instance_norm(x, gamma, beta, eps)[0]


def instance_norm_forward(x, gamma, beta, eps=1e-5):
    """(y, cache)."""
    return _instance_norm(x, gamma, beta, eps)


def instance_norm_backward(dout, cache):
    """(dx, dgamma, dbeta)."""
    return _row_norm_backward(dout, cache)
