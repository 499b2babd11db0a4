"""Output allocation: the block cache for large outputs (csrc/core/pool.h)."""

import numpy as np
import pytest

import fastdl as fd
from fastdl import _alloc, _cpu

BIG = (1024, 512)  # 512K elements: pooled


def test_large_outputs_reuse_freed_blocks():
    x = np.random.default_rng(0).standard_normal(BIG).astype(np.float32)
    fd.relu(x)  # warm: one block of this class is now cached
    before = fd.memory_pool_info()
    for _ in range(5):
        y = fd.relu(x)
        del y
    after = fd.memory_pool_info()
    assert after["hits"] - before["hits"] >= 5
    assert after["misses"] == before["misses"]


def test_live_outputs_never_share_memory():
    x = np.random.default_rng(1).standard_normal(BIG).astype(np.float32)
    outs = [fd.relu(x) for _ in range(4)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert not np.shares_memory(outs[i], outs[j])
    outs[0][...] = 7
    assert not np.any(outs[1] == 7)
    np.testing.assert_array_equal(outs[3], np.maximum(x, 0))


def test_pool_arrays_behave_like_numpy_arrays():
    a = _cpu.pool_empty([3, 1 << 18], np.dtype(np.float64))
    assert a.shape == (3, 1 << 18) and a.dtype == np.float64 and a.flags.c_contiguous and a.flags.writeable
    a[...] = 1.5
    b = a.reshape(-1)[::2].copy()
    del a  # b is independent
    assert b.sum() == 1.5 * (3 << 17)
    z = _cpu.pool_empty([0, 5], np.dtype(np.float32))
    assert z.shape == (0, 5)
    with pytest.raises(OverflowError):
        _cpu.pool_empty([2**40, 2**40], np.dtype(np.float32))
    with pytest.raises(ValueError, match="negative"):
        _cpu.pool_empty([-1], np.dtype(np.float32))


def test_limit_zero_disables_caching_and_frees():
    old = fd.memory_pool_info()["limit"]
    try:
        fd.set_memory_pool_limit(0)
        x = np.ones(BIG, np.float32)
        del_me = fd.relu(x)
        del del_me
        assert fd.memory_pool_info()["cached_bytes"] == 0
        with pytest.raises(ValueError, match=">= 0"):
            fd.set_memory_pool_limit(-1)
    finally:
        fd.set_memory_pool_limit(old)


def test_poisoning_applies_to_pooled_outputs():
    old = _alloc.poison(True)
    try:
        assert np.isnan(_alloc.empty(BIG, np.float32)).all()
    finally:
        _alloc.poison(old)
