"""The GEMM engine: micro-kernels alone at their tile edges, then the loops.

Micro-kernels are called through _cpu._ukernel on every ISA this CPU runs,
with m, n from 1 to MR+1 / NR+1 (clamped to the tile), k around the unroll,
NaN-poisoned C, beta 0 (C must not be read) and beta != 0.
"""

import numpy as np
import pytest

from fastdl import _cpu
from helpers import ISAS


def tile(isa, dtype):
    c, a, b = (np.zeros(1, dtype) for _ in range(3))
    a = np.zeros(64, dtype)
    return _cpu._ukernel(isa, c, a, b, 1, 1, 0, 1.0, 0.0, 1, 16, 1, 1, 1)


def ref(m, n, k, alpha, a, rsa, csa, b, rsb, beta, c0):
    A = np.array([[a[i * rsa + p * csa] for p in range(k)] for i in range(m)], np.float64).reshape(m, k)
    B = np.array([[b[p * rsb + j] for j in range(n)] for p in range(k)], np.float64).reshape(k, n)
    out = alpha * (A @ B)
    return out if beta == 0 else out + beta * c0


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("layout", ["packed", "panel", "rows", "any"])
def test_ukernel_edges(isa, layout, dtype, rng):
    # packed: the GEMM's packed panels (A csa = MR, B rows of NR);
    # panel: A a transposed matrix in place (rsa 1, csa = m), B rows of stride n + 3;
    # rows:  A a row-major matrix in place (row stride k + 2);
    # any:   A with neither unit stride. Exactly m rows of A exist in the last
    #        three: a kernel reading past them fails under ASan or reads NaN.
    mr, nr = tile(isa, dtype)
    ms = sorted({1, 2, mr // 3, mr // 3 + 1, 2 * mr // 3, 2 * mr // 3 + 1, mr - 1, mr} - {0})
    for m in ms:
        for n in sorted({1, nr // 2 - 1, nr // 2 + 1, nr - 1, nr} - {0}):
            for k in (0, 1, 3, 4, 5, 17):
                rsa, csa, rsb = {"packed": (1, mr, nr), "panel": (1, m, n + 3),
                                 "rows": (k + 2, 1, n + 3), "any": (2 * k + 1, 2, n + 3)}[layout]
                last_row = mr if layout == "packed" else m
                size_a = (last_row - 1) * rsa + (max(k, 1) - 1) * csa + 1  # nothing past the last element read
                a = rng.integers(-4, 5, size_a).astype(dtype)
                b = rng.integers(-4, 5, max(k, 1) * rsb).astype(dtype)
                for alpha, beta in ((1.0, 0.0), (2.0, 0.0), (1.0, 1.0), (0.5, -2.0)):
                    rsc = n + 1
                    c = np.full(m * rsc, np.nan, dtype)  # beta == 0 must not read these NaNs
                    c0 = rng.integers(-4, 5, (m, n)).astype(dtype)
                    if beta != 0:
                        c.reshape(m, rsc)[:, :n] = c0
                    _cpu._ukernel(isa, c, a, b, m, n, k, alpha, beta, rsa, csa, rsb, rsc, 1)
                    got = c.reshape(m, rsc)
                    want = ref(m, n, k, alpha, a, rsa, csa, b, rsb, beta, c0)
                    # Integer data: exact in float32 and float64, any summation order.
                    np.testing.assert_array_equal(got[:, :n], want, err_msg=f"{isa} m={m} n={n} k={k} a={alpha} b={beta}")
                    assert np.isnan(got[:, n:]).all(), "kernel wrote outside its m x n tile"


@pytest.mark.parametrize("isa", ISAS)
def test_ukernel_strided_c(isa, dtype, rng):
    mr, nr = tile(isa, dtype)
    k = 9
    a = rng.standard_normal(mr * k).astype(dtype)
    b = rng.standard_normal(nr * k).astype(dtype)
    c = np.full(mr * nr * 2, np.nan, dtype)  # C column-major with csc = mr
    _cpu._ukernel(isa, c, a, b, mr, nr, k, 1.0, 0.0, 1, mr, nr, 1, mr)
    got = c[: mr * nr].reshape(nr, mr).T
    want = ref(mr, nr, k, 1.0, a, 1, mr, b, nr, 0.0, None)
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("mnk", [(1, 1, 1), (5, 3, 2), (13, 35, 7), (64, 64, 64), (65, 65, 65), (200, 150, 600), (37, 2000, 3), (2000, 5, 40)], ids=str)
def test_gemm_paths(isa, mnk, dtype, rng):
    # Small (no packing) and packed paths, all ISAs, transposed operands,
    # alpha/beta, NaN-poisoned C with beta = 0.
    m, n, k = mnk
    old = _cpu.isa()
    _cpu._set_isa(isa)
    try:
        a = rng.integers(-3, 4, (m, k)).astype(dtype)
        b = rng.integers(-3, 4, (k, n)).astype(dtype)
        want = a.astype(np.float64) @ b
        strided = np.repeat(a, 2, axis=1)[:, ::2]  # neither unit row nor unit column stride
        for av, bv in ((a, b), (np.asfortranarray(a), np.asfortranarray(b)), (strided, b.T.copy().T)):
            c = np.full((m, n), np.nan, dtype)
            _cpu.gemm(c, av, bv)
            np.testing.assert_array_equal(c, want)
        c0 = rng.integers(-3, 4, (m, n)).astype(dtype)
        c = c0.copy()
        _cpu.gemm(c, a, b, alpha=2.0, beta=-1.0)
        np.testing.assert_array_equal(c, 2 * want - c0)
        ct = np.full((n, m), np.nan, dtype).T  # C with unit row stride
        _cpu.gemm(ct, a, b)
        np.testing.assert_array_equal(ct, want)
    finally:
        _cpu._set_isa(old)


@pytest.mark.parametrize("isa", ISAS)
def test_gemm_packed_b(isa, dtype, rng):
    # Pre-packed B (gemm_pack_b + gemm_packed_b): rows around MR, columns
    # around NR, a column offset of whole panels, strided A, NaN-poisoned C
    # with beta = 0, and beta != 0. Integer data: exact in any order.
    old = _cpu.isa()
    _cpu._set_isa(isa)
    try:
        mr, nr = tile(isa, dtype)
        for m in (1, mr - 1, mr, mr + 1, 2 * mr + 3):
            for k in (0, 1, 5, 33):
                for nb in (1, nr - 1, nr + 1, 3 * nr + 5):
                    for col0 in sorted({0, nr * (nb // (2 * nr))}):
                        n = nb - col0 - (1 if nb - col0 > 1 else 0)
                        a = rng.integers(-3, 4, (k, m)).astype(dtype).T  # transposed view
                        b = rng.integers(-3, 4, (k, nb)).astype(dtype)
                        want = a.astype(np.float64) @ b[:, col0:col0 + n]
                        c = np.full((m, n), np.nan, dtype)
                        _cpu._gemm_packed_b(c, a, b, col0=col0)
                        np.testing.assert_array_equal(c, want, err_msg=f"{isa} m={m} k={k} nb={nb} col0={col0}")
                        c0 = rng.integers(-3, 4, (m, n)).astype(dtype)
                        c = c0.copy()
                        _cpu._gemm_packed_b(c, a, b, alpha=2.0, beta=-1.0, col0=col0)
                        np.testing.assert_array_equal(c, 2 * want - c0)
        with pytest.raises(ValueError, match="multiple of nr"):
            _cpu._gemm_packed_b(np.empty((2, 2), dtype), np.ones((2, 3), dtype), np.ones((3, 2 * nr), dtype), col0=1)
    finally:
        _cpu._set_isa(old)


@pytest.mark.parametrize("mnk", [(64, 64, 64), (300, 500, 700), (7, 3000, 300), (3000, 7, 300)], ids=str)
def test_gemm_bit_identical_across_threads(mnk, dtype, rng):
    m, n, k = mnk
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    old = _cpu.num_threads()
    outs = []
    try:
        for t in (1, 2, 3):
            _cpu.set_num_threads(t)
            c = np.empty((m, n), dtype)
            _cpu.gemm(c, a, b)
            outs.append(c)
    finally:
        _cpu.set_num_threads(old)
    for c in outs[1:]:
        assert np.array_equal(c, outs[0])


def test_isa_reporting():
    assert _cpu.isa() in ISAS
    assert _cpu.gemm_kernel_name("float32", _cpu.isa()).startswith("sgemm_ukernel_")
    with pytest.raises(ValueError, match="isa must be"):
        _cpu._set_isa("sse9")
