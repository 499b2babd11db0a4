"""Reference dropout (NumPy): Philox4x32-10 written from the paper, vectorised over blocks.

Element i is kept when word i % 4 of philox4x32_10((i // 4 as two 32-bit
words, 0, 0), (seed as two 32-bit words)) is >= floor(p * 2^32); kept elements
are scaled by 1 / (1 - p).
"""

import numpy as np

__all__ = ["dropout_backward", "dropout_forward", "dropout_mask", "philox4x32_10"]

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_LO = np.uint64(0xFFFFFFFF)


def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Ten Philox rounds on uint64 arrays holding 32-bit values; returns four arrays."""
    c = [np.asarray(v, np.uint64) & _LO for v in (c0, c1, c2, c3)]
    k0, k1 = int(k0) & 0xFFFFFFFF, int(k1) & 0xFFFFFFFF
    for r in range(10):
        if r:
            k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
        p0, p1 = _M0 * c[0], _M1 * c[2]         # < 2^64: exact in uint64
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ np.uint64(k0), p1 & _LO,
             (p0 >> np.uint64(32)) ^ c[3] ^ np.uint64(k1), p0 & _LO]
    return c


def dropout_mask(shape, p, seed):
    """Boolean keep-mask of `shape` (C order)."""
    n = int(np.prod(shape))
    blocks = np.arange((n + 3) // 4, dtype=np.uint64)
    words = philox4x32_10(blocks & _LO, blocks >> np.uint64(32), 0, 0, seed & 0xFFFFFFFF, seed >> 32)
    stream = np.stack(words, axis=1).reshape(-1)[:n]   # word i % 4 of block i // 4
    return (stream >= np.uint64(int(p * 2**32))).reshape(shape)


def dropout_forward(x, p=0.5, training=True, seed=None):
    if not training or p == 0:
        return x.copy(), (None, 1.0)
    mask = dropout_mask(x.shape, p, seed)
    scale = x.dtype.type(1 / (1 - p))
    return x * np.where(mask, scale, x.dtype.type(0)), (mask, scale)


def dropout_backward(dout, cache):
    mask, scale = cache
    if mask is None:
        return (dout.copy(),)
    return (dout * np.where(mask, scale, dout.dtype.type(0)),)
