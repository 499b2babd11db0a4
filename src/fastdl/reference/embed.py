"""Reference embedding and positional encoding (NumPy, from the formulas)."""

import numpy as np

__all__ = ["embedding_backward", "embedding_forward", "positional_encoding_backward",
           "positional_encoding_forward"]


def embedding_forward(indices, weight):
    # indices (...) integers in [0, V); weight (V, D) -> (..., D)
    return weight[indices], (indices, weight.shape)


def embedding_backward(dout, cache):
    indices, shape = cache
    dweight = np.zeros(shape, dout.dtype)
    np.add.at(dweight, indices.reshape(-1), dout.reshape(-1, shape[1]))  # repeated indices add up
    return None, dweight


def positional_encoding_forward(length, d_model, dtype=np.float32):
    # "Attention is all you need", section 3.5, computed in float64
    pos = np.arange(length, dtype=np.float64)[:, None]
    two_i = (np.arange(d_model) // 2 * 2).astype(np.float64)
    angle = pos / np.power(10000.0, two_i / d_model)
    pe = np.where(np.arange(d_model) % 2 == 0, np.sin(angle), np.cos(angle))
    return pe.astype(dtype), None


def positional_encoding_backward(dout, cache):
    return ()
