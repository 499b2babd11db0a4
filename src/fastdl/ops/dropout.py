"""dropout family: inverted dropout with a counter-based (Philox4x32-10) mask.

    y, cache = fd.dropout_forward(x, p=0.5, seed=1234)
    dx, = fd.dropout_backward(dy, cache)

Element i (C order) of x is kept when word i of the Philox stream keyed by
`seed` is at least floor(p * 2^32) (see csrc/core/philox.h), and kept
elements are scaled by 1 / (1 - p). The same seed gives the same mask on every
backend and thread count; backward regenerates the mask from the seed, so the
cache holds no arrays (``cache.nbytes == 0``). ``seed=None`` draws a fresh
64-bit seed from the OS, recorded in the cache (``cache.params['seed']``).

Backend kernel (``_cpu``, ``backends.numba_cpu``):
    dropout_apply(dst, src, seed, threshold, scale)   dst = src * (keep ? scale : 0)
"""

from __future__ import annotations

import operator
import secrets

import numpy as np

from .._alloc import empty
from .._cache import Cache
from .._dispatch import backend
from .._validate import device_of, float_array, grad_output

__all__ = ["dropout", "dropout_backward", "dropout_forward"]


def _seed(seed):
    if seed is None:
        return secrets.randbits(64)
    try:
        seed = operator.index(seed)
    except TypeError:
        raise TypeError(f"dropout: seed must be an int or None, got {type(seed).__name__}") from None
    if not 0 <= seed < 2**64:
        raise ValueError(f"dropout: seed must be in [0, 2**64), got {seed}")
    return seed


def _apply(x, p, seed, training):
    dtype = x.dtype
    out = empty(x.shape, dtype, x)
    if not training or p == 0:
        np.copyto(out, x)
        return out
    threshold = int(p * 2**32)                 # exact: p is a double, 2**32 a power of two
    backend("dropout", device_of(x=x), dtype).dropout_apply(out, np.ascontiguousarray(x), seed, threshold,
                                                            1.0 / (1.0 - p))
    return out


def _dropout(x, p, training, seed):
    x = float_array("x", x)
    p = float(p)
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    seed = _seed(seed)
    training = bool(training)
    return _apply(x, p, seed, training), Cache("dropout", {}, p=p, seed=seed, training=training,
                                                shape=x.shape, dtype=x.dtype)


def dropout(x, p=0.5, training=True, seed=None):
    """Inverted dropout: zero each element with probability p, scale the rest by 1 / (1 - p)."""
    return _dropout(x, p, training, seed)[0]


def dropout_forward(x, p=0.5, training=True, seed=None):
    """(y, cache); the cache keeps the seed, not the mask."""
    return _dropout(x, p, training, seed)


def dropout_backward(dout, cache):
    """(dx,): dout through the same mask, regenerated from the seed."""
    q = cache.params
    dout = grad_output("dout", dout, q["shape"], q["dtype"])
    return (_apply(dout, q["p"], q["seed"], q["training"]),)
