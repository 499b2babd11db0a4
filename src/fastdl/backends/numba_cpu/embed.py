"""Numba kernels of the embed family (contract: fastdl/ops/embed.py).

embedding_bwd: prange over columns; each column adds the rows of dout in index
order, so the sums do not depend on the thread count (no atomics).
"""

from __future__ import annotations

import math

from numba import njit, prange

__all__ = ["embedding_bwd", "embedding_fwd", "positional_encoding"]


@njit(parallel=True, cache=True)
def _fwd(out, weight, indices):
    for i in prange(indices.size):
        out[i, :] = weight[indices[i], :]


def embedding_fwd(out, weight, indices):
    _fwd(out.reshape(indices.size, weight.shape[1]), weight, indices)


@njit(parallel=True, cache=True)
def _bwd(dweight, dout, indices):
    for j in prange(dweight.shape[1]):
        for r in range(dweight.shape[0]):
            dweight[r, j] = 0
        for i in range(indices.size):
            dweight[indices[i], j] += dout[i, j]


def embedding_bwd(dweight, dout, indices):
    _bwd(dweight, dout.reshape(indices.size, dweight.shape[1]), indices)


@njit(parallel=True, cache=True)
def _pe(pe):
    length, d = pe.shape
    log_base = math.log(10000.0)
    for p in prange(length):
        for j in range(d):
            a = p * math.exp(-(j - (j & 1)) / d * log_base)
            pe[p, j] = math.cos(a) if j & 1 else math.sin(a)


def positional_encoding(pe):
    _pe(pe)
