"""Output allocation for every op (one place to change how memory is obtained).

Tests set ``poison(True)`` so that every output starts as NaN: a kernel that
leaves an element unwritten then fails its comparison instead of passing on
whatever the allocator happened to return.
"""

from __future__ import annotations

import numpy as np

_poison = False


def poison(on: bool) -> bool:
    """Fill new outputs with NaN (tests); returns the previous setting."""
    global _poison
    old, _poison = _poison, bool(on)
    return old


def empty(shape, dtype, like=None):
    """A new C-contiguous array on the device of `like` (NumPy when None)."""
    if like is not None and hasattr(like, "__cuda_array_interface__"):
        import cupy  # only reached with a GPU array in hand

        out = cupy.empty(shape, dtype)
    else:
        out = np.empty(shape, dtype)
    if _poison:
        out.fill(np.nan)
    return out
