"""Numba kernel of the dropout family (contract: fastdl/ops/dropout.py).

The same Philox4x32-10 stream as csrc/core/philox.h, so the masks are
bit-identical to the C++ backend's. Blocks of four elements are independent.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["dropout_apply"]


@njit(parallel=True, cache=True)
def _apply(dst, src, seed, threshold, scale):
    m0, m1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
    lo = np.uint64(0xFFFFFFFF)
    s32 = np.uint64(32)
    n = src.size
    for b in prange((n + 3) // 4):
        c0, c1 = np.uint64(b) & lo, np.uint64(b) >> s32
        c2, c3 = np.uint64(0), np.uint64(0)
        k0, k1 = seed & lo, seed >> s32
        for r in range(10):
            if r:
                k0 = (k0 + np.uint64(0x9E3779B9)) & lo
                k1 = (k1 + np.uint64(0xBB67AE85)) & lo
            p0, p1 = m0 * c0, m1 * c2
            c0, c1, c2, c3 = (p1 >> s32) ^ c1 ^ k0, p1 & lo, (p0 >> s32) ^ c3 ^ k1, p0 & lo
        words = (c0, c1, c2, c3)
        for k in range(4):
            e = 4 * b + k
            if e < n:
                dst[e] = src[e] * (scale if words[k] >= threshold else 0)


def dropout_apply(dst, src, seed, threshold, scale):
    t = src.dtype.type
    _apply(dst.reshape(-1), src.reshape(-1), np.uint64(seed), np.uint64(threshold), t(scale))
