"""embed family: ``embedding`` (row lookup) and ``positional_encoding`` (sinusoidal).

Backend kernels (``_cpu``, ``backends.numba_cpu``):
    embedding_fwd(out, weight, indices)       out (n, d) = weight (v, d)[indices (n,) int64]
    embedding_bwd(dweight, dout, indices)     dweight (v, d): dout rows summed per index, in index order
    positional_encoding(pe)                   pe (length, d_model) filled
"""

from __future__ import annotations

import operator

import numpy as np

from .._alloc import empty
from .._cache import Cache
from .._dispatch import backend
from .._validate import device_of, expect_ndim, float_array, grad_output

__all__ = [
    "embedding", "embedding_backward", "embedding_forward",
    "positional_encoding", "positional_encoding_backward", "positional_encoding_forward",
]


# ---------------------------------------------------------------------------
# embedding: indices (any shape, any integer dtype), weight (V, D) -> (*indices.shape, D)


def _indices(indices, v):
    """indices as C-contiguous int64, every value in [0, v), else TypeError/ValueError."""
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer array, got {idx.dtype}")
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= v:
            raise ValueError(f"embedding: indices must be in [0, {v}) (weight has {v} rows), "
                             f"got values from {lo} to {hi}")
    return np.asarray(idx, dtype=np.int64, order="C")  # (ascontiguousarray would make a 0-d index 1-d)


def _embedding(indices, weight):
    weight = float_array("weight", weight)
    expect_ndim("weight", weight, 2, " (num_embeddings, embedding_dim)")
    v, d = weight.shape
    idx = _indices(indices, v)
    weight = np.ascontiguousarray(weight)
    out = empty(idx.shape + (d,), weight.dtype, weight)
    backend("embedding", device_of(weight=weight), weight.dtype).embedding_fwd(out, weight, idx.reshape(-1))
    return out, idx, weight


def embedding(indices, weight):
    """weight[indices]: rows of weight (V, D) for every index, shape (*indices.shape, D)."""
    return _embedding(indices, weight)[0]


def embedding_forward(indices, weight):
    """(out, cache)."""
    out, idx, weight = _embedding(indices, weight)
    return out, Cache("embedding", {"indices": idx}, weight_shape=weight.shape, dtype=weight.dtype)


def embedding_backward(dout, cache):
    """(None, dweight): no gradient for the integer indices; repeated indices add up."""
    idx = cache.arrays["indices"]
    (v, d), dtype = cache.params["weight_shape"], cache.params["dtype"]
    dout = np.ascontiguousarray(grad_output("dout", dout, idx.shape + (d,), dtype))
    dweight = empty((v, d), dtype, dout)
    backend("embedding", device_of(dout=dout), dtype).embedding_bwd(dweight, dout, idx.reshape(-1))
    return None, dweight


# ---------------------------------------------------------------------------
# positional_encoding(length, d_model, dtype=float32) -> (length, d_model)


def _positional_encoding(length, d_model, dtype):
    names = ("length", "d_model")
    try:
        length, d_model = map(operator.index, (length, d_model))
    except TypeError:
        raise TypeError(f"positional_encoding: {' and '.join(names)} must be ints") from None
    if length < 0 or d_model < 0:
        raise ValueError(f"positional_encoding: length and d_model must be >= 0, got {length}, {d_model}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"positional_encoding: dtype must be float32 or float64, got {dtype}")
    pe = empty((length, d_model), dtype)
    backend("positional_encoding", "cpu", dtype).positional_encoding(pe)
    return pe


def positional_encoding(length, d_model, dtype=np.float32):
    """Sinusoidal encoding (length, d_model): pe[p, 2i] = sin(p / 10000^(2i/d_model)),
    pe[p, 2i+1] = cos(p / 10000^(2i/d_model))."""
    return _positional_encoding(length, d_model, dtype)


def positional_encoding_forward(length, d_model, dtype=np.float32):
    """(pe, cache); pe has no array inputs, so its backward returns ()."""
    return _positional_encoding(length, d_model, dtype), Cache("positional_encoding", {})


def positional_encoding_backward(dout, cache):
    """(): positional_encoding has no differentiable inputs."""
    return ()
