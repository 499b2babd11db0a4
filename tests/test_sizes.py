"""Size and index arithmetic is 64-bit and overflow-checked: shapes whose
element count exceeds 2^31 are computed exactly (without allocating them),
and a workspace that cannot exist is a clear error, not a crash."""

import numpy as np
import pytest

import fastdl as fd
from fastdl import _cpu


def test_numel_beyond_int32():
    assert _cpu._numel([2**20, 2**12, 3]) == 3 * 2**32
    assert _cpu._numel([65536, 65536]) == 2**32
    assert _cpu._numel([]) == 1
    assert _cpu._numel([5, 0, 2**40]) == 0


def test_numel_overflow_is_an_error():
    with pytest.raises(OverflowError, match="overflows 64 bits"):
        _cpu._numel([2**32, 2**32])
    with pytest.raises(ValueError, match="negative"):
        _cpu._numel([3, -1])


def test_gemm_workspace_for_huge_problems(dtype):
    dtype = np.dtype(dtype).name
    # A 2^20-sized GEMM packs one kc x nc block of B plus one mc x kc block of A
    # per thread: a bounded workspace, computed without 32-bit wrap-around.
    ws = _cpu._gemm_workspace(dtype, 2**20, 2**20, 2**20, 2)
    mr, nr, mc, kc, nc, small, serial = _cpu._gemm_blocking(dtype, _cpu.isa())
    assert 0 < ws <= kc * nc + 2 * (mc * kc + 16)
    # The small path holds one packed row tile of mr x k.
    assert _cpu._gemm_workspace(dtype, 3, 3, 5000, 1) >= mr * 5000


def test_impossible_workspace_is_a_clear_error():
    with pytest.raises(OverflowError):
        _cpu._scratch_probe(2**62, 8)
    with pytest.raises(MemoryError):
        _cpu._scratch_probe(2**46, 8)  # 512 TiB
    _cpu._scratch_probe(16, 8)  # and the thread's scratch still works afterwards
    a = np.ones((3, 4), np.float32)
    np.testing.assert_array_equal(fd.matmul(a, a.T), np.full((3, 3), 4, np.float32))


def test_huge_broadcast_batch_shapes_validate_without_allocating():
    # Shape checks on stride-0 views with 2^40 logical elements stay cheap and exact.
    a = np.broadcast_to(np.ones((1, 1, 2, 3), np.float32), (2**20, 2**20, 2, 3))
    b = np.ones((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"got a \(1048576, 1048576, 2, 3\) and b \(4, 5\)"):
        fd.matmul(a, b)
