"""matmul and affine: every backend x dtype against the reference and gradcheck."""

import numpy as np
import pytest

import fastdl as fd
from helpers import check_op, rel_err

# (a shape, b shape): plain, odd, tile edges, 1-D promotion, broadcasting, empty
MATMUL_CASES = [
    ((1, 1), (1, 1)),
    ((5, 7), (7, 3)),
    ((13, 33), (33, 17)),          # edges of 12x32 / 6x16 tiles
    ((64, 64), (64, 64)),          # at the small/packed boundary
    ((70, 300), (300, 50)),        # packed path, k over one KC block
    ((7,), (7, 4)),                # 1-D a
    ((4, 7), (7,)),                # 1-D b
    ((7,), (7,)),                  # dot product
    ((3, 5, 6), (6, 4)),           # batched @ matrix (one merged GEMM)
    ((2, 5, 6), (2, 6, 4)),        # batched
    ((4, 100, 90), (4, 90, 80)),   # batch split over threads: packed GEMMs inside a parallel region
    ((2, 1, 5, 6), (3, 6, 4)),     # broadcast both ways
    ((5, 6), (3, 6, 4)),           # matrix @ batched
    ((3, 1, 2, 5, 6), (1, 4, 1, 6, 3)),
    ((0, 6), (6, 4)),              # empty rows
    ((5, 0), (0, 4)),              # empty inner dim: zeros
    ((2, 0, 5, 6), (6, 4)),        # empty batch
]


@pytest.mark.parametrize("a_shape,b_shape", MATMUL_CASES, ids=str)
def test_matmul(a_shape, b_shape, backend, dtype, rng):
    check_op("matmul", [a_shape, b_shape], backend=backend, dtype=dtype, rng=rng,
             gradcheck=np.prod(a_shape) * np.prod(b_shape) < 5000)


LAYOUTS = {
    "a transposed": {0: lambda x: np.ascontiguousarray(x.T).T},
    "b transposed": {1: lambda x: np.ascontiguousarray(x.T).T},
    "fortran both": {0: np.asfortranarray, 1: np.asfortranarray},
    "strided": {0: lambda x: np.repeat(x, 2, axis=1)[:, ::2], 1: lambda x: np.repeat(x, 3, axis=0)[::3]},
    "negative strides": {0: lambda x: x[::-1, ::-1].copy()[::-1, ::-1], 1: lambda x: x[::-1].copy()[::-1]},
}


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
@pytest.mark.parametrize("shape", [(9, 20, 11), (100, 300, 70)], ids=str)
def test_matmul_layouts(layout, shape, backend, dtype, rng):
    m, k, n = shape
    check_op("matmul", [(m, k), (k, n)], backend=backend, dtype=dtype, rng=rng,
             layouts=LAYOUTS[layout], gradcheck=False)


def test_matmul_batched_transposed_views(backend, dtype, rng):
    a = rng.standard_normal((4, 9, 5)).astype(dtype)
    b = rng.standard_normal((4, 9, 6)).astype(dtype)
    check_op("matmul", [a.transpose(0, 2, 1), b], backend=backend, dtype=dtype, rng=rng, gradcheck=False)


def test_matmul_integer_valued_is_exact(backend, rng):
    # Small integers: every float32 product and partial sum is exact, so the
    # result must equal the integer product bit for bit, whatever the order.
    a = rng.integers(-8, 8, (67, 129)).astype(np.float32)
    b = rng.integers(-8, 8, (129, 45)).astype(np.float32)
    with fd.use_backend(backend):
        out = fd.matmul(a, b)
    np.testing.assert_array_equal(out, (a.astype(np.int64) @ b.astype(np.int64)).astype(np.float32))


AFFINE_CASES = [
    ((1, 1), (1, 1), True),
    ((4, 5), (5, 3), True),
    ((2, 3, 4, 5), (60, 7), True),   # x (N, d1, d2, d3) flattened
    ((10, 6), (6, 33), False),       # no bias: db is None
    ((128, 300), (300, 100), True),  # packed path
    ((0, 5), (5, 3), True),          # empty batch
    ((3, 0), (0, 4), True),          # D = 0: y = b
]


@pytest.mark.parametrize("x_shape,w_shape,bias", AFFINE_CASES, ids=str)
def test_affine(x_shape, w_shape, bias, backend, dtype, rng):
    inputs = [x_shape, w_shape] + ([(w_shape[1],)] if bias else [])
    check_op("affine", inputs, backend=backend, dtype=dtype, rng=rng,
             gradcheck=np.prod(x_shape) * w_shape[1] < 5000)


def test_affine_noncontiguous_x(backend, dtype, rng):
    check_op("affine", [(6, 4, 5), (20, 3), (3,)], backend=backend, dtype=dtype, rng=rng,
             layouts={0: lambda x: np.asfortranarray(x)})


def test_float32_error_no_worse_than_numpy(rng):
    # A long accumulation (k = 4096): fastdl's float32 error against the
    # float64 product is at most twice NumPy's float32 error.
    a = rng.standard_normal((64, 4096)).astype(np.float32)
    b = rng.standard_normal((4096, 48)).astype(np.float32)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    assert rel_err(fd.matmul(a, b), ref) <= 2 * rel_err(a @ b, ref)
