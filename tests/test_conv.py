"""conv2d and conv_transpose2d: every backend x dtype against the reference and gradcheck,
plus determinism across thread counts, PyTorch parity, bad input and the shape helpers."""

import math

import numpy as np
import pytest

import fastdl as fd
from helpers import at_threads, check_op, rel_err

# (x shape, w shape, params, with bias). Comments name the C++ path taken.
CONV2D_CASES = [
    ((2, 3, 7, 9), (4, 3, 3, 3), dict(padding=1), True),                   # direct, odd sizes
    ((1, 2, 5, 5), (3, 2, 3, 3), {}, True),                                 # batch 1, no padding
    ((2, 3, 6, 7), (2, 3, 3, 3), dict(padding=2), True),                    # padding > kernel / 2
    ((2, 2, 9, 10), (3, 2, 2, 2), dict(stride=3), True),                    # stride > kernel (gaps)
    ((2, 3, 9, 8), (2, 3, 3, 2), dict(dilation=2, padding=(1, 2)), False),  # dilation, no bias
    ((2, 4, 8, 7), (6, 2, 3, 3), dict(groups=2, padding=1, stride=(2, 1)), True),  # groups
    ((2, 6, 5, 6), (6, 2, 1, 3), dict(groups=3, padding=(0, 1), dilation=(1, 2)), True),
    ((2, 4, 7, 7), (4, 1, 3, 3), dict(groups=4, padding=1), True),          # depthwise
    ((2, 3, 8, 9), (6, 1, 3, 3), dict(groups=3, stride=2, padding=2, dilation=2), True),  # depthwise x2
    ((2, 3, 6, 6), (3, 1, 5, 5), dict(groups=3, padding=1, stride=(1, 2)), False),
    ((2, 2, 7, 6), (6, 1, 3, 3), dict(groups=2, padding=1), True),         # depthwise x3, stride 1
    ((2, 2, 8, 9), (2, 1, 5, 5), dict(groups=2, padding=2, dilation=(2, 1)), True),
    ((1, 2, 11, 10), (2, 1, 9, 9), dict(groups=2, padding=4), True),       # 81 taps
    ((2, 2, 5, 6), (2, 1, 3, 3), dict(groups=2, padding=3), True),         # padding > d(k-1)
    ((1, 1, 9, 9), (3, 1, 5, 5), dict(stride=3), True),                     # one input channel
    ((2, 5, 4, 6), (3, 5, 1, 1), {}, True),                                 # pointwise
    ((2, 6, 4, 5), (4, 3, 1, 1), dict(groups=2), False),                    # pointwise, groups
    ((2, 5, 7, 6), (3, 5, 1, 1), dict(stride=2), True),                     # 1x1 stride 2: im2col
    ((2, 4, 5, 5), (3, 4, 1, 1), dict(padding=1), True),                    # 1x1 with padding: direct
    ((2, 3, 4, 5), (2, 3, 4, 5), {}, True),                                 # kernel = input: 1x1 output
    ((2, 3, 3, 4), (2, 3, 5, 5), dict(padding=1), True),                    # kernel = padded input
    ((0, 3, 5, 5), (2, 3, 3, 3), dict(padding=1), True),                    # empty batch
    ((1, 2, 3, 70), (2, 2, 1, 66), dict(padding=(0, 1)), True),              # kernel > 64 wide: direct
    ((2, 2, 19, 17), (3, 2, 2, 2), dict(stride=(9, 8)), True),               # stride product > 64: im2col
    # direct (stride 1, <= 16 channels): row tails W = 1, 15, 17, 33; output tiles past F; flipped-tap dx
    ((2, 3, 6, 1), (5, 3, 3, 3), dict(padding=1), True),                    # W = 1
    ((1, 3, 5, 15), (7, 3, 3, 3), dict(padding=1), False),                  # batch 1, no bias
    ((2, 3, 4, 17), (3, 3, 3, 3), dict(padding=2), True),                   # padding 2
    ((1, 4, 3, 33), (2, 4, 3, 3), {}, True),                                # padding 0, 4 channels
    ((2, 2, 5, 7), (9, 2, 5, 5), dict(padding=2), False),                   # 5x5, F = 9
    ((2, 3, 6, 6), (4, 3, 3, 3), dict(padding=3), True),                    # padding > d(k-1): col2im dx
]

# Big enough for the C++ GEMM paths: several B blocks and K blocks, uneven
# weight chunks, micro-tile edges (F and C not multiples of the tile).
CONV2D_LARGE = [
    ((9, 16, 13, 11), (24, 16, 3, 3), dict(stride=2, padding=1), True),    # im2col implicit GEMM
    ((2, 8, 30, 29), (20, 8, 5, 5), dict(stride=(2, 1), padding=2), True),  # im2col, K = 200
    ((3, 3, 40, 37), (16, 3, 3, 3), dict(padding=1), True),                 # first layer (direct)
    ((3, 3, 32, 32), (32, 3, 3, 3), dict(padding=1), True),                 # direct: the benchmark's layer
    ((2, 3, 17, 33), (13, 3, 7, 7), dict(padding=3), True),                 # direct 7x7, odd F
    ((2, 16, 15, 17), (20, 16, 3, 3), dict(padding=1), False),              # direct, 16 channels
    ((2, 4, 9, 15), (6, 4, 3, 3), dict(dilation=2), True),                  # direct, dilation, padding 0
    ((1, 3, 40, 50), (8, 3, 3, 3), dict(padding=(1, 0)), True),             # direct, batch 1
    ((5, 32, 17, 17), (32, 1, 3, 3), dict(groups=32, padding=1), True),     # depthwise
    ((2, 16, 35, 37), (32, 1, 5, 5), dict(groups=16, padding=2), True),     # depthwise x2, 5x5, wide rows
    # shifted GEMM (stride 1, >= 16 channels per group)
    ((3, 64, 20, 18), (32, 64, 3, 3), dict(padding=1), True),
    ((3, 48, 20, 20), (40, 48, 1, 1), {}, True),                            # pointwise
    ((2, 64, 9, 9), (64, 16, 3, 3), dict(groups=4, padding=1), True),       # groups, cg = 16
    ((2, 20, 11, 13), (13, 20, 3, 2), dict(padding=(2, 0), dilation=(1, 3)), True),  # odd F, C, dilation
    ((1, 17, 60, 70), (5, 17, 3, 3), dict(padding=1), False),              # several bands, batch 1
    ((2, 300, 7, 6), (26, 300, 3, 3), dict(padding=1), True),               # C > kc: channel blocks
    ((2, 24, 8, 9), (18, 24, 3, 3), dict(padding=3), True),                 # padding > d(k-1): col2im dx
    ((2, 24, 9, 9), (36, 24, 2, 2), dict(padding=(0, 1)), True),            # even kernel
    # shifted calls written straight into out / dx: row tiles past F and C, column tiles past the band
    ((2, 128, 16, 16), (128, 128, 3, 3), dict(padding=1), True),            # the 128-channel benchmark layer
    ((1, 40, 6, 7), (30, 20, 3, 3), dict(groups=2, padding=1), True),       # groups, F/groups = 15, 42 pixels
    ((2, 24, 11, 13), (20, 24, 3, 3), dict(stride=2, padding=1, dilation=(1, 2)), True),  # dw band: per-tap copies
    # shifted GEMM on phases (strided)
    ((2, 20, 15, 16), (18, 20, 4, 4), dict(stride=2, padding=1), True),
    ((2, 16, 17, 13), (20, 16, 3, 3), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1)), True),
    ((2, 16, 10, 11), (16, 16, 2, 2), dict(stride=3), True),                # dx phases no tap reaches
    ((3, 32, 9, 9), (24, 32, 1, 1), dict(stride=2), False),                 # 1x1 stride 2: one phase used
    ((1, 16, 21, 20), (16, 16, 5, 5), dict(stride=3, padding=2), True),
    # ... on whole phases (column stride > 1, strides dividing the kernel, dilation 1, output
    # rows at least 8x the junk columns): one copy per phase
    ((2, 32, 15, 19), (20, 32, 4, 4), dict(stride=2, padding=1), True),     # 4x4 s2, odd sizes
    ((2, 32, 15, 13), (20, 32, 4, 4), dict(stride=2, padding=1), True),     # ... ow = 6: per-kj copies
    ((1, 16, 12, 17), (24, 16, 2, 2), dict(stride=2), False),               # 2x2 s2 (one shift), batch 1
    ((2, 64, 11, 17), (24, 32, 4, 4), dict(stride=2, padding=2, groups=2), True),  # groups, padding 2
    ((2, 16, 13, 18), (12, 16, 6, 4), dict(stride=(3, 2), padding=(2, 1)), True),  # row stride 3
    ((2, 16, 9, 26), (10, 16, 4, 6), dict(stride=(1, 3), padding=1), True),        # column stride 3
    ((1, 32, 70, 64), (8, 32, 4, 4), dict(stride=2, padding=1), True),      # several bands
]


def _inputs(x_shape, w_shape, bias, f):
    return [x_shape, w_shape] + ([(f,)] if bias else [])


def _small(*shapes):
    return sum(math.prod(s) for s in shapes) < 1500


@pytest.mark.parametrize("x_shape,w_shape,params,bias", CONV2D_CASES, ids=str)
def test_conv2d(x_shape, w_shape, params, bias, backend, dtype, rng):
    check_op("conv2d", _inputs(x_shape, w_shape, bias, w_shape[0]), params, backend=backend, dtype=dtype,
             rng=rng, gradcheck=_small(x_shape, w_shape))


@pytest.mark.parametrize("x_shape,w_shape,params,bias", CONV2D_LARGE, ids=str)
def test_conv2d_large(x_shape, w_shape, params, bias, dtype, rng):
    check_op("conv2d", _inputs(x_shape, w_shape, bias, w_shape[0]), params, backend="cpu", dtype=dtype,
             rng=rng, gradcheck=False)


LAYOUTS = {
    "x transposed HW": {0: lambda x: np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)},
    "x strided, w fortran": {0: lambda x: np.repeat(x, 2, axis=3)[..., ::2], 1: np.asfortranarray},
    "x channels-last": {0: lambda x: np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)},
}


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
def test_conv2d_layouts(layout, backend, dtype, rng):
    check_op("conv2d", [(2, 3, 6, 5), (4, 3, 3, 3), (4,)], dict(padding=1), backend=backend, dtype=dtype,
             rng=rng, layouts=LAYOUTS[layout], gradcheck=False)


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
def test_conv2d_layouts_shifted(layout, dtype, rng):
    check_op("conv2d", [(2, 20, 7, 9), (17, 20, 3, 3), (17,)], dict(padding=1), backend="cpu", dtype=dtype,
             rng=rng, layouts=LAYOUTS[layout], gradcheck=False)


# (x shape, w shape, params, with bias); w is (C, F/groups, kh, kw)
CONV_T_CASES = [
    ((2, 4, 5, 6), (4, 3, 4, 4), dict(stride=2, padding=1), True),         # the usual 2x upsampler
    ((2, 3, 5, 5), (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1), True),
    ((1, 2, 4, 3), (2, 3, 3, 3), {}, True),                                 # batch 1, stride 1
    ((2, 4, 4, 5), (4, 2, 3, 3), dict(groups=2, stride=(2, 1), padding=(1, 0)), True),
    ((2, 3, 4, 4), (3, 1, 3, 3), dict(groups=3, stride=2, dilation=2, output_padding=(1, 0)), False),
    ((2, 2, 4, 4), (2, 3, 2, 2), dict(stride=3), True),                     # stride > kernel
    ((2, 2, 4, 4), (2, 2, 3, 3), dict(stride=2, padding=2, output_padding=1, dilation=3), True),  # op < dilation
    ((2, 5, 3, 4), (5, 3, 1, 1), {}, True),                                 # pointwise
    ((2, 3, 4, 4), (3, 2, 5, 5), dict(padding=3), True),                    # padding crops a lot
    ((0, 3, 4, 4), (3, 2, 3, 3), dict(stride=2), True),                     # empty batch
    # stride 1, output_padding < dilation: a last row / column no input reaches
    # (found by test_properties_layers; the depthwise data gradient left it unwritten)
    ((1, 1, 1, 1), (1, 1, 1, 2), dict(output_padding=(1, 0), dilation=2), False),
    ((2, 3, 4, 5), (3, 1, 3, 2), dict(groups=3, output_padding=(1, 1), dilation=2, padding=1), True),
    ((2, 3, 4, 5), (3, 2, 3, 3), dict(output_padding=(0, 1), dilation=(1, 2)), True),
]

CONV_T_LARGE = [
    ((3, 64, 8, 8), (64, 32, 4, 4), dict(stride=2, padding=1), True),
    ((2, 40, 10, 9), (40, 24, 3, 3), dict(padding=1), True),
    ((2, 24, 7, 6), (24, 16, 3, 3), dict(stride=2, padding=1, output_padding=1), True),
    ((2, 32, 5, 6), (32, 32, 2, 2), dict(stride=3), False),                  # gaps between the windows
    ((2, 32, 6, 5), (32, 8, 3, 3), dict(stride=2, groups=2, dilation=2), True),
    ((2, 32, 6, 5), (32, 16, 3, 3), dict(stride=2, groups=2, dilation=2), True),   # shifted, groups
    ((2, 32, 5, 6), (32, 32, 5, 5), dict(stride=3, padding=1, groups=2), True),    # phases with 1 or 2 taps
    ((2, 32, 6, 6), (32, 16, 3, 3), dict(stride=(1, 2), padding=1, dilation=(1, 3)), True),  # spaced col taps
    ((2, 32, 6, 6), (32, 16, 3, 3), dict(output_padding=1, dilation=2), True),  # stride 1, output_padding
    ((2, 32, 6, 6), (32, 1, 3, 3), dict(groups=32, output_padding=1, dilation=2), True),  # ... depthwise
    # 4x4 s2 with enough channels: column phases written in interleaved pairs
    ((2, 48, 7, 9), (48, 30, 4, 4), dict(stride=2, padding=1, output_padding=1), True),  # odd sizes, 30 channels
    ((1, 96, 7, 6), (96, 28, 4, 4), dict(stride=2, padding=1, groups=2), True),         # groups, batch 1
    ((2, 64, 5, 6), (64, 32, 4, 4), dict(stride=2, padding=1, dilation=(1, 2)), True),  # dilation: not in pairs
    ((32, 32, 16, 16), (32, 64, 4, 4), dict(stride=2, padding=1), True),  # 8 MiB fp32 output: streaming stores
]


@pytest.mark.parametrize("x_shape,w_shape,params,bias", CONV_T_CASES, ids=str)
def test_conv_transpose2d(x_shape, w_shape, params, bias, backend, dtype, rng):
    f = w_shape[1] * params.get("groups", 1)
    check_op("conv_transpose2d", _inputs(x_shape, w_shape, bias, f), params, backend=backend, dtype=dtype,
             rng=rng, gradcheck=_small(x_shape, w_shape))


@pytest.mark.parametrize("x_shape,w_shape,params,bias", CONV_T_LARGE, ids=str)
def test_conv_transpose2d_large(x_shape, w_shape, params, bias, dtype, rng):
    f = w_shape[1] * params.get("groups", 1)
    check_op("conv_transpose2d", _inputs(x_shape, w_shape, bias, f), params, backend="cpu", dtype=dtype,
             rng=rng, gradcheck=False)


def test_conv_transpose2d_noncontiguous(backend, dtype, rng):
    check_op("conv_transpose2d", [(2, 3, 4, 5), (3, 2, 3, 3), (2,)], dict(stride=2), backend=backend,
             dtype=dtype, rng=rng, layouts={0: lambda x: x[:, ::-1].copy()[:, ::-1]}, gradcheck=False)


# ---------------------------------------------------------------------------
# determinism, exactness, PyTorch parity

DETERMINISM = [
    ("conv2d", (4, 16, 12, 12), (24, 16, 3, 3), dict(padding=1)),           # direct (16 channels)
    ("conv2d", (3, 16, 12, 12), (24, 16, 3, 3), dict(padding=1)),           # direct, 3 chunks
    ("conv2d", (4, 20, 12, 12), (24, 20, 3, 3), dict(padding=1)),           # shifted, chunks per thread
    ("conv2d", (3, 20, 12, 12), (24, 20, 3, 3), dict(padding=1)),           # shifted, tiles per thread
    ("conv2d", (1, 32, 40, 40), (20, 32, 3, 3), dict(padding=1)),           # shifted, batch 1, bands
    ("conv2d", (3, 128, 16, 16), (128, 128, 3, 3), dict(padding=1)),       # shifted, written in place
    ("conv2d", (2, 100, 10, 10), (100, 100, 3, 3), dict(padding=1)),       # weight packing split, partial panel
    ("conv2d", (2, 64, 16, 16), (64, 64, 3, 3), dict(padding=1)),           # ... transposed (B panels) split
    ("conv2d", (1, 32, 24, 24), (16, 32, 3, 3), dict(stride=2)),            # im2col, batch 1
    ("conv2d", (5, 8, 24, 24), (16, 8, 3, 3), dict(stride=2, padding=1)),   # im2col, 5 chunks
    ("conv2d", (10, 24, 10, 10), (40, 24, 1, 1), {}),                       # pointwise, 8 chunks
    ("conv2d", (3, 8, 15, 15), (8, 1, 3, 3), dict(groups=8, padding=1)),    # depthwise
    ("conv_transpose2d", (5, 16, 8, 8), (16, 8, 4, 4), dict(stride=2, padding=1)),
    ("conv_transpose2d", (3, 32, 8, 8), (32, 16, 4, 4), dict(stride=2, padding=1)),   # shifted, phases
    ("conv_transpose2d", (3, 64, 8, 8), (64, 32, 4, 4), dict(stride=2, padding=1)),   # ... in column pairs
    ("conv_transpose2d", (32, 32, 16, 16), (32, 64, 4, 4), dict(stride=2, padding=1)),  # ... streamed (8 MiB)
    ("conv2d", (1, 16, 30, 30), (16, 16, 3, 3), dict(stride=2, padding=1)),           # shifted, phases, batch 1
    ("conv2d", (3, 32, 14, 16), (24, 32, 4, 4), dict(stride=2, padding=1)),           # shifted, whole phases
    ("conv2d", (1, 32, 70, 64), (8, 32, 4, 4), dict(stride=2, padding=1)),            # ... batch 1, bands
    ("conv2d", (11, 3, 20, 21), (32, 3, 3, 3), dict(padding=1)),            # direct, 8 uneven chunks
    ("conv2d", (3, 4, 9, 17), (6, 4, 5, 5), dict(padding=2)),               # direct, fewer images than chunks
    ("conv2d", (1, 16, 12, 33), (20, 16, 3, 3), dict(padding=1)),           # direct, batch 1
]


def test_conv_transpose2d_streamed_output_matches_unstreamed(rng):
    # an fp32 output of >= 8 MiB is written with streaming stores; images
    # computed one at a time (small outputs, normal stores) give the same bits
    x = rng.standard_normal((32, 32, 16, 16)).astype(np.float32)
    w = rng.standard_normal((32, 64, 4, 4)).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    y = fd.conv_transpose2d(x, w, b, stride=2, padding=1)
    assert y.nbytes >= 8 << 20
    for n in (0, 17, 31):
        np.testing.assert_array_equal(y[n:n + 1], fd.conv_transpose2d(x[n:n + 1], w, b, stride=2, padding=1))


# conv_transpose2d's backward in one pass over dout's images (shifted path,
# whole weight-gradient chunks per thread) or, otherwise, the separate passes
FUSED_BWD = [
    ((64, 64, 16, 16), (64, 32, 4, 4), dict(stride=2, padding=1)),         # the benchmark case
    ((3, 48, 7, 9), (48, 30, 4, 4), dict(stride=2, padding=1, output_padding=1)),  # odd sizes, 3 chunks
    ((1, 96, 7, 6), (96, 28, 4, 4), dict(stride=2, padding=1, groups=2)),  # groups, batch 1
    ((4, 64, 5, 6), (64, 32, 4, 4), dict(stride=2, padding=1, dilation=(1, 2))),  # dilation
    ((10, 32, 6, 6), (32, 16, 3, 3), dict(output_padding=1, dilation=2)),   # stride 1, 8 uneven chunks
    ((2, 32, 6, 5), (32, 8, 3, 3), dict(stride=2, groups=2, dilation=2)),   # im2col (separate passes)
    ((3, 8, 6, 6), (8, 1, 3, 3), dict(groups=8, padding=1)),                # depthwise (separate passes)
]


@pytest.mark.parametrize("x_shape,w_shape,params", FUSED_BWD, ids=str)
def test_conv_transpose2d_backward_matches_separate_kernels(x_shape, w_shape, params, rng):
    # the one-pass backward gives the bits of conv2d_fwd + conv2d_bwd + conv_bias_grad, at any thread count
    cpu = fd._dispatch.load("cpu")
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[1] * params.get("groups", 1)).astype(np.float32)
    with at_threads(1):
        y, cache = fd.conv_transpose2d_forward(x, w, b, **params)
        _, cache_nb = fd.conv_transpose2d_forward(x, w, None, **params)
    dout = rng.standard_normal(y.shape).astype(np.float32)
    p = dict(cache.params)
    p.pop("out_shape")
    for threads in (1, 2, 3):
        with at_threads(threads):
            dx, dw, db = fd.conv_transpose2d_backward(dout, cache)
            nbdx, nbdw, nbdb = fd.conv_transpose2d_backward(dout, cache_nb)
            sdx, sdw, sdb = np.empty_like(x), np.empty_like(w), np.empty_like(b)
            cpu.conv2d_fwd(sdx, dout, w, None, **p)
            cpu.conv2d_bwd(None, sdw, None, x, dout, w, **p)
            cpu.conv_bias_grad(sdb, dout)
        assert nbdb is None
        for a, e in ((dx, sdx), (dw, sdw), (db, sdb), (nbdx, sdx), (nbdw, sdw)):
            np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("op,x_shape,w_shape,params", DETERMINISM, ids=str)
def test_thread_count_does_not_change_results(op, x_shape, w_shape, params, rng):
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    f = w_shape[0] if op == "conv2d" else w_shape[1]
    b = rng.standard_normal(f).astype(np.float32)
    fwd, bwd = getattr(fd, op + "_forward"), getattr(fd, op + "_backward")
    results = []
    for threads in (1, 2, 3):
        with at_threads(threads):
            out, cache = fwd(x, w, b, **params)
            dout = np.random.default_rng(7).standard_normal(out.shape).astype(np.float32)
            results.append((out, *bwd(dout, cache)))
    for other in results[1:]:
        for a, b_ in zip(results[0], other):
            np.testing.assert_array_equal(a, b_)


def test_conv2d_integer_valued_is_exact(backend, rng):
    # Small integers: every float32 product and partial sum is exact.
    x = rng.integers(-4, 5, (3, 8, 10, 9)).astype(np.float32)
    w = rng.integers(-4, 5, (6, 8, 3, 3)).astype(np.float32)
    with fd.use_backend(backend):
        out = fd.conv2d(x, w, padding=1)
    ref, _ = fd.reference.conv2d_forward(x.astype(np.int64), w.astype(np.int64), padding=1)
    np.testing.assert_array_equal(out, ref.astype(np.float32))


# Stride-1 shifted convs whose band rows are as wide as x / dout (a
# channel's kw copies made together, the next image prefetched): odd and
# uneven widths, groups, batch 1, no padding, dilation (dx's copies then
# span more columns). Small integers, so every sum is exact.
@pytest.mark.parametrize("x_shape,w_shape,params", [
    ((3, 32, 7, 9), (24, 32, 3, 3), dict(padding=1)),
    ((1, 64, 5, 11), (32, 32, 3, 3), dict(padding=1, groups=2)),
    ((2, 32, 6, 13), (32, 32, 5, 5), {}),
    ((3, 32, 9, 13), (16, 32, 3, 3), dict(padding=2, dilation=2)),
    ((2, 16, 12, 7), (20, 16, 3, 5), dict(padding=(1, 2))),
], ids=str)
def test_conv2d_shifted_stride1_exact(x_shape, w_shape, params, dtype, rng):
    x = rng.integers(-3, 4, x_shape).astype(dtype)
    w = rng.integers(-3, 4, w_shape).astype(dtype)
    b = rng.integers(-3, 4, w_shape[0]).astype(dtype)
    out, cache = fd.conv2d_forward(x, w, b, **params)
    dout = rng.integers(-3, 4, out.shape).astype(dtype)
    dx, dw, db = fd.conv2d_backward(dout, cache)
    ref, rcache = fd.reference.conv2d_forward(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                                              **params)
    rdx, rdw, rdb = fd.reference.conv2d_backward(dout.astype(np.float64), rcache)
    for got, want in ((out, ref), (dx, rdx), (dw, rdw), (db, rdb)):
        np.testing.assert_array_equal(got, want.astype(dtype))


def test_conv2d_float32_error_no_worse_than_numpy(rng):
    # A long accumulation (K = 256 * 9): fastdl's float32 error is at most twice the
    # reference formula's in plain float32 NumPy.
    x = rng.standard_normal((2, 256, 8, 8)).astype(np.float32)
    w = rng.standard_normal((16, 256, 3, 3)).astype(np.float32)
    ref64, _ = fd.reference.conv2d_forward(x.astype(np.float64), w.astype(np.float64), padding=1)
    ref32, _ = fd.reference.conv2d_forward(x, w, padding=1)
    assert rel_err(fd.conv2d(x, w, padding=1), ref64) <= 2 * rel_err(ref32, ref64)


TORCH_CASES = [
    ("conv2d", (2, 6, 9, 8), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)),
    ("conv2d", (2, 4, 7, 7), (8, 1, 3, 3), dict(groups=4, padding=1)),
    ("conv_transpose2d", (2, 4, 5, 6), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d", (2, 4, 5, 5), (4, 2, 3, 3), dict(stride=2, dilation=2, groups=2)),
]


@pytest.mark.parametrize("op,x_shape,w_shape,params", TORCH_CASES, ids=str)
def test_matches_pytorch(op, x_shape, w_shape, params, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0] if op == "conv2d" else w_shape[1] * params.get("groups", 1))
    out, cache = getattr(fd, op + "_forward")(x, w, b, **params)
    dout = rng.standard_normal(out.shape)
    grads = getattr(fd, op + "_backward")(dout, cache)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = getattr(torch.nn.functional, op)(tx, tw, tb, **params)
    ty.backward(torch.tensor(dout))
    assert rel_err(out, ty.detach().numpy()) < 1e-12
    for g, t in zip(grads, (tx, tw, tb)):
        assert rel_err(g, t.grad.numpy()) < 1e-12


def test_cache_holds_only_the_inputs(rng):
    x = rng.standard_normal((4, 8, 16, 16)).astype(np.float32)
    w = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    _, cache = fd.conv2d_forward(x, w, padding=1)
    assert cache.nbytes == x.nbytes + w.nbytes


# ---------------------------------------------------------------------------
# bad input

X = np.zeros((2, 4, 8, 8), np.float32)
W = np.zeros((6, 4, 3, 3), np.float32)


@pytest.mark.parametrize("kwargs,match", [
    (dict(w=np.zeros((6, 3, 3, 3), np.float32)), r"channel mismatch: x \(2, 4, 8, 8\) has 4 channels but w \(6, 3, 3, 3\)"),
    (dict(groups=3), r"groups=3 must divide the input channels \(4"),
    (dict(w=np.zeros((5, 2, 3, 3), np.float32), groups=2), r"groups=2 must divide .* output channels \(5"),
    (dict(w=np.zeros((6, 4, 11, 3), np.float32)), r"kernel 11x3 .* larger than the padded input 8x8"),
    (dict(w=np.zeros((6, 4, 5, 5), np.float32), dilation=3, padding=1), r"spans 13x13, larger than the padded input 10x10"),
    (dict(stride=0), r"stride must be >= 1, got 0"),
    (dict(stride=(1, -2)), r"stride must be >= 1"),
    (dict(dilation=0), r"dilation must be >= 1"),
    (dict(padding=-1), r"padding must be >= 0, got -1"),
    (dict(x=np.zeros((4, 8, 8), np.float32)), r"x must be \(N, C, H, W\), got shape \(4, 8, 8\)"),
    (dict(w=np.zeros((6, 4, 3), np.float32)), r"w must be \(F, C/groups, kh, kw\), got shape \(6, 4, 3\)"),
    (dict(b=np.zeros(5, np.float32)), r"b must be \(6,\) to match w \(6, 4, 3, 3\), got \(5,\)"),
    (dict(padding=(1, 2, 3)), r"padding must be an int or an \(h, w\) pair"),
])
def test_conv2d_bad_input(kwargs, match):
    args = dict(x=X, w=W, b=None)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fd.conv2d(**args)


def test_conv2d_type_errors():
    with pytest.raises(TypeError, match=r"mixed float dtypes: x float32, w float64"):
        fd.conv2d(X, W.astype(np.float64))
    with pytest.raises(TypeError, match=r"mixed float dtypes"):
        fd.conv2d(X, W, np.zeros(6))
    with pytest.raises(TypeError, match=r"x: expected a float32 or float64 array, got int64"):
        fd.conv2d(X.astype(np.int64), W)
    with pytest.raises(TypeError, match=r"stride must be an int"):
        fd.conv2d(X, W, stride=1.5)
    with pytest.raises(TypeError, match=r"groups must be an int"):
        fd.conv2d(X, W, groups=None)


def test_conv_backward_checks_dout(rng):
    out, cache = fd.conv2d_forward(X, W, padding=1)
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 6, 8, 8\) \(the forward output\), got \(2, 6, 6, 6\)"):
        fd.conv2d_backward(np.zeros((2, 6, 6, 6), np.float32), cache)
    with pytest.raises(TypeError, match=r"dout: expected dtype float32"):
        fd.conv2d_backward(np.zeros(out.shape), cache)
    y, cache_t = fd.conv_transpose2d_forward(X, np.zeros((4, 2, 4, 4), np.float32), stride=2, padding=1)
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 2, 16, 16\)"):
        fd.conv_transpose2d_backward(np.zeros((2, 2, 15, 16), np.float32), cache_t)


@pytest.mark.parametrize("kwargs,match", [
    (dict(w=np.zeros((3, 2, 3, 3), np.float32)), r"channel mismatch: x \(2, 4, 8, 8\) has 4 channels but w \(3, 2, 3, 3\)"),
    (dict(groups=3), r"groups=3 must divide the input channels \(4"),
    (dict(stride=2, output_padding=2), r"output_padding \(2, 2\) must be smaller than stride \(2, 2\) or dilation"),
    (dict(padding=-1), r"padding must be >= 0"),
    (dict(stride=0), r"stride must be >= 1"),
    (dict(padding=5), r"padding \(5, 5\) leaves no output"),
    (dict(x=np.zeros((2, 4, 8), np.float32)), r"x must be \(N, C, H, W\)"),
    (dict(w=np.zeros((4, 2, 3), np.float32)), r"w must be \(C, F/groups, kh, kw\)"),
])
def test_conv_transpose2d_bad_input(kwargs, match):
    args = dict(x=X, w=np.zeros((4, 2, 3, 3), np.float32))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fd.conv_transpose2d(**args)


def test_kernels_reject_inconsistent_shapes_directly():
    # The binding's own checks: a direct call of _cpu never crashes.
    cpu = fd._dispatch.load("cpu")
    out = np.empty((2, 6, 8, 8), np.float32)
    with pytest.raises(ValueError, match="conv2d kernel"):
        cpu.conv2d_fwd(out, X, W, None, (1, 1), (0, 0), (1, 1), 1)   # out should be 6x6
    with pytest.raises(ValueError, match="conv2d kernel"):
        cpu.conv2d_fwd(np.empty((2, 6, 6, 6), np.float32), X, W, None, (1, 1), (0, 0), (1, 1), 2)
    with pytest.raises(TypeError):
        cpu.conv2d_fwd(out, X.astype(np.float64), W, None, (1, 1), (1, 1), (1, 1), 1)
    dw = np.empty_like(W)
    with pytest.raises(ValueError, match="dx must match x"):   # dx should be (2, 6, 6, 6)
        cpu.conv_transpose2d_bwd(np.empty((2, 6, 8, 8), np.float32), dw, None, X, np.empty((2, 6, 6, 6), np.float32), W,
                                 (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="db: expected shape"):
        cpu.conv_transpose2d_bwd(np.empty((2, 6, 6, 6), np.float32), dw, np.empty(6, np.float32), X,
                                 np.empty((2, 6, 6, 6), np.float32), W, (1, 1), (0, 0), (1, 1), 1)


# ---------------------------------------------------------------------------
# shape helpers and filters


def test_conv_output_shape():
    assert fd.conv_output_shape(32, 3, padding=1) == 32
    assert fd.conv_output_shape((32, 30), (3, 5), stride=2) == (15, 13)
    assert fd.conv_output_shape((7, 7), 3, stride=2, padding=1, dilation=2) == (3, 3)
    assert fd.conv_output_shape(5, 2, stride=3) == 2  # floor((5 - 2) / 3) + 1
    with pytest.raises(ValueError, match="larger than the padded input"):
        fd.conv_output_shape(4, 7, padding=1)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        fd.conv_output_shape(4, 3, stride=0)
    for h in range(1, 12):
        for k, s, p, d in [(3, 1, 1, 1), (2, 2, 0, 1), (5, 3, 2, 1), (3, 2, 2, 2)]:
            if d * (k - 1) + 1 <= h + 2 * p:
                x = np.zeros((1, 1, h, h))
                out = fd.conv2d(x, np.zeros((1, 1, k, k)), stride=s, padding=p, dilation=d)
                assert out.shape[2:] == fd.conv_output_shape((h, h), k, s, p, d)


def test_receptive_field():
    assert fd.receptive_field([]) == 1
    assert fd.receptive_field([(3, 1), (3, 1)]) == 5            # two 3x3 = one 5x5
    assert fd.receptive_field([(3, 1)] * 3) == 7
    assert fd.receptive_field([(7, 2), (3, 2), (3, 1)]) == 7 + 2 * 2 + 2 * 4  # 19
    assert fd.receptive_field([(3, 1, 2), (3, 1, 4)]) == 1 + 2 * 2 + 2 * 4
    with pytest.raises(ValueError, match="layer 1"):
        fd.receptive_field([(3, 1), (0, 1)])
    with pytest.raises(ValueError, match=r"\(kernel, stride\)"):
        fd.receptive_field([3])


def test_receptive_field_matches_gradient_support():
    # The receptive field is the extent of the input that one output depends on.
    layers = [(3, 2), (3, 1), (2, 2)]
    x = np.ones((1, 1, 40, 40))
    out, caches = x, []
    for k, s in layers:
        out, cache = fd.conv2d_forward(out, np.ones((1, 1, k, k)), stride=s)
        caches.append(cache)
    dout = np.zeros(out.shape)
    dout[0, 0, 2, 2] = 1
    for cache in reversed(caches):
        dout = fd.conv2d_backward(dout, cache)[0]
    rows = np.flatnonzero(dout[0, 0].any(axis=1))
    assert rows[-1] - rows[0] + 1 == fd.receptive_field(layers)


def test_filters():
    ramp = np.tile(np.arange(8.0), (8, 1))[None, None]           # intensity grows to the right
    gx = fd.conv2d(ramp, fd.filters("sobel_x")[None, None])
    gy = fd.conv2d(ramp, fd.filters("sobel_y")[None, None])
    np.testing.assert_allclose(gx, 8.0)
    np.testing.assert_allclose(gy, 0.0)
    np.testing.assert_allclose(fd.conv2d(ramp, fd.filters("laplacian")[None, None]), 0.0)
    np.testing.assert_allclose(fd.conv2d(ramp, fd.filters("edge")[None, None]), 0.0, atol=1e-12)
    np.testing.assert_allclose(fd.conv2d(ramp, fd.filters("sharpen")[None, None]), ramp[..., 1:-1, 1:-1])
    np.testing.assert_allclose(fd.conv2d(ramp, fd.filters("box", 3)[None, None]), ramp[..., 1:-1, 1:-1])
    g = fd.filters("gaussian", 5, sigma=1.5)
    assert g.shape == (5, 5) and abs(g.sum() - 1) < 1e-12
    np.testing.assert_allclose(g, g.T)
    assert g[2, 2] == g.max()
    assert fd.filters("box", 4, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="unknown filter 'prewitt'"):
        fd.filters("prewitt")
    with pytest.raises(ValueError, match="odd"):
        fd.filters("gaussian", 4)


# Winograd F(2x2, 3x3) (conv_winograd.cpp): 3x3, stride 1, dilation 1, >= 32 input and output
# channels per group; the forward and the data gradient (a 3x3 conv of dout, padding 2 - p).
# Edge shapes: odd h and w (clipped last tiles), h or w of 1-3, padding 0 / 1 / 2 and
# asymmetric, groups, batch 1, channels not multiples of the micro-tile.
WINOGRAD = [
    ((2, 32, 7, 9), (32, 32, 3, 3), dict(padding=1)),
    ((1, 32, 3, 1), (40, 32, 3, 3), dict(padding=1)),
    ((3, 33, 2, 3), (32, 33, 3, 3), dict(padding=2)),
    ((2, 32, 5, 6), (36, 32, 3, 3), {}),
    ((1, 32, 3, 3), (32, 32, 3, 3), {}),
    ((2, 40, 9, 4), (32, 40, 3, 3), dict(padding=(0, 2))),
    ((1, 64, 6, 5), (96, 32, 3, 3), dict(padding=1, groups=2)),
    ((2, 32, 18, 17), (32, 32, 3, 3), dict(padding=1)),  # several bands of tile rows
]


# The weight gradient by F(2x2, 3x3) (winograd_bwd_weight) where use_winograd_dw holds: >= 64
# channels per group and >= 1024 2x2 tiles in the batch. Edge shapes: odd h and w, h or w of
# 1-3, padding 0 / 1 / 2 and asymmetric, groups, batch 1 (channel blocks), more images than
# partial chunks (9 > 8), output channels not a multiple of the GEMM panel.
WINOGRAD_DW = [
    ((52, 64, 7, 9), (64, 64, 3, 3), dict(padding=1)),
    ((512, 64, 3, 1), (72, 64, 3, 3), dict(padding=1)),
    ((180, 64, 2, 3), (64, 64, 3, 3), dict(padding=2)),
    ((256, 64, 5, 6), (64, 64, 3, 3), {}),
    ((1024, 64, 3, 3), (64, 64, 3, 3), {}),
    ((86, 80, 9, 4), (64, 80, 3, 3), dict(padding=(0, 2))),
    ((512, 64, 1, 7), (64, 64, 3, 3), dict(padding=1)),
    ((256, 64, 4, 2), (65, 64, 3, 3), dict(padding=2)),
    ((9, 64, 24, 22), (64, 64, 3, 3), dict(padding=1)),
    ((1, 64, 64, 64), (64, 64, 3, 3), dict(padding=1)),
    ((1, 128, 64, 63), (128, 64, 3, 3), dict(padding=1, groups=2)),
    ((120, 128, 6, 7), (128, 64, 3, 3), dict(padding=(1, 0), groups=2)),
]


def _winograd_calls():
    return fd._dispatch.load("cpu").conv2d_winograd_calls()


def _winograd_dw_calls():
    return fd._dispatch.load("cpu").conv2d_winograd_dw_calls()


@pytest.mark.parametrize("x_shape,w_shape,params,dw", [c + (False,) for c in WINOGRAD] +
                         [c + (True,) for c in WINOGRAD_DW], ids=str)
def test_conv2d_winograd(x_shape, w_shape, params, dw, dtype, rng):
    calls = _winograd_dw_calls if dw else _winograd_calls
    before = calls()
    check_op("conv2d", _inputs(x_shape, w_shape, True, w_shape[0]), params, backend="cpu", dtype=dtype,
             rng=rng, gradcheck=dw and math.prod(x_shape) <= 100_000)  # gradcheck costs seconds above
    assert calls() > before  # the path under test was taken (dw: the weight gradient's)


def test_conv2d_winograd_noncontiguous(dtype, rng):
    before = _winograd_calls()
    check_op("conv2d", [(2, 32, 7, 6), (32, 32, 3, 3), (32,)], dict(padding=1), backend="cpu", dtype=dtype,
             rng=rng, layouts=LAYOUTS["x channels-last"], gradcheck=False)
    assert _winograd_calls() > before


def _fwd_bwd_threads_bit_identical(op, x_shape, w_shape, params, dtype, rng):
    # op's forward output and gradients (with a bias) at 1, 2 and 3 threads are identical
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    f = w_shape[0] if op == "conv2d" else w_shape[1] * params.get("groups", 1)
    b = rng.standard_normal(f).astype(dtype)
    results = []
    for threads in (1, 2, 3):
        with at_threads(threads):
            out, cache = getattr(fd, op + "_forward")(x, w, b, **params)
            dout = np.random.default_rng(7).standard_normal(out.shape).astype(dtype)
            results.append((out, *getattr(fd, op + "_backward")(dout, cache)))
    for other in results[1:]:
        for a, e in zip(results[0], other):
            np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("x_shape,w_shape,params", WINOGRAD[:1] + WINOGRAD[6:] + WINOGRAD_DW[-4:], ids=str)
def test_conv2d_winograd_threads_bit_identical(x_shape, w_shape, params, dtype, rng):
    _fwd_bwd_threads_bit_identical("conv2d", x_shape, w_shape, params, dtype, rng)


@pytest.mark.parametrize("x_shape,w_shape", [((32, 128, 16, 16), (128, 128, 3, 3)),
                                             ((4, 64, 32, 32), (64, 64, 3, 3))], ids=str)
def test_conv2d_winograd_taken_for_benchmark_shapes(x_shape, w_shape, rng):
    # the benchmark cases run the Winograd forward, data and weight gradients, not the shifted path
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    before, before_dw = _winograd_calls(), _winograd_dw_calls()
    out, cache = fd.conv2d_forward(x, w, None, padding=1)
    assert _winograd_calls() == before + 1
    fd.conv2d_backward(np.ones_like(out), cache)
    assert _winograd_calls() == before + 2
    assert _winograd_dw_calls() == before_dw + 1


def test_conv2d_winograd_dw_noncontiguous(dtype, rng):
    before = _winograd_dw_calls()
    check_op("conv2d", [(86, 64, 7, 6), (64, 64, 3, 3)], dict(padding=1), backend="cpu", dtype=dtype,
             rng=rng, layouts=LAYOUTS["x transposed HW"], gradcheck=False)
    assert _winograd_dw_calls() > before


# conv_transpose2d's forward is conv2d's data gradient (padding 2 - p: 2, 1, 0 and -1, a crop)
# and its backward conv2d's forward: both on the Winograd path here.
@pytest.mark.parametrize("x_shape,w_shape,params", [
    ((2, 32, 5, 6), (32, 40, 3, 3), {}),
    ((1, 32, 4, 7), (32, 32, 3, 3), dict(padding=1)),
    ((2, 32, 9, 8), (32, 32, 3, 3), dict(padding=3)),
    ((1, 64, 5, 5), (64, 32, 3, 3), dict(padding=2, groups=2)),
], ids=str)
def test_conv_transpose2d_winograd(x_shape, w_shape, params, dtype, rng):
    before = _winograd_calls()
    check_op("conv_transpose2d", _inputs(x_shape, w_shape, True, w_shape[1] * params.get("groups", 1)), params,
             backend="cpu", dtype=dtype, rng=rng, gradcheck=False)
    assert _winograd_calls() > before


# Winograd F(2x2, 2x2) for conv_transpose2d 4x4 stride 2's forward (conv2d's data gradient,
# winograd_s2_bwd_data): >= 32 input channels per group. Edge shapes: odd sizes, h or w of
# 1-3, padding 0-4 (3 and 4: crops), asymmetric padding, output_padding, groups, batch 1,
# channels not multiples of the micro-tile, bands of tile rows crossing images.
WINOGRAD_S2 = [
    ((2, 32, 5, 7), (32, 8, 4, 4), dict(stride=2, padding=1)),
    ((1, 32, 3, 1), (32, 8, 4, 4), dict(stride=2, padding=1, output_padding=1)),
    ((2, 33, 2, 3), (33, 9, 4, 4), dict(stride=2)),
    ((1, 40, 4, 5), (40, 16, 4, 4), dict(stride=2, padding=2, output_padding=(1, 0))),
    ((1, 32, 7, 6), (32, 8, 4, 4), dict(stride=2, padding=(3, 1))),
    ((1, 32, 6, 6), (32, 8, 4, 4), dict(stride=2, padding=4, output_padding=1)),
    ((2, 64, 6, 5), (64, 8, 4, 4), dict(stride=2, padding=1, groups=2)),
    ((3, 32, 9, 8), (32, 8, 4, 4), dict(stride=2, padding=1)),  # bands cross images
]


@pytest.mark.parametrize("x_shape,w_shape,params", WINOGRAD_S2, ids=str)
def test_conv_transpose2d_winograd_s2(x_shape, w_shape, params, dtype, rng):
    before = _winograd_calls()
    check_op("conv_transpose2d", _inputs(x_shape, w_shape, True, w_shape[1] * params.get("groups", 1)), params,
             backend="cpu", dtype=dtype, rng=rng, gradcheck=False)
    assert _winograd_calls() > before  # the forward took the path


def test_conv_transpose2d_winograd_s2_noncontiguous(dtype, rng):
    before = _winograd_calls()
    check_op("conv_transpose2d", [(2, 32, 5, 6), (32, 8, 4, 4), (8,)], dict(stride=2, padding=1), backend="cpu",
             dtype=dtype, rng=rng, layouts=LAYOUTS["x channels-last"], gradcheck=False)
    assert _winograd_calls() > before


@pytest.mark.parametrize("x_shape,w_shape,params", WINOGRAD_S2[-2:] + [
    ((64, 64, 16, 16), (64, 32, 4, 4), dict(stride=2, padding=1)),  # the benchmark shape (streamed output)
], ids=str)
def test_conv_transpose2d_winograd_s2_threads_bit_identical(x_shape, w_shape, params, dtype, rng):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[1] * params.get("groups", 1)).astype(dtype)
    results = []
    for threads in (1, 2, 3):
        with at_threads(threads):
            results.append(fd.conv_transpose2d(x, w, b, **params))
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)
    if x_shape[0] == 64:  # the 8 MiB float32 output streams; one image at a time does not: same values
        one = np.concatenate([fd.conv_transpose2d(x[i:i + 1], w, b, **params) for i in range(0, 64, 9)])
        np.testing.assert_array_equal(results[0][::9], one)


def test_conv_transpose2d_winograd_s2_taken_for_benchmark_shape(rng):
    x = rng.standard_normal((64, 64, 16, 16)).astype(np.float32)
    w = rng.standard_normal((64, 32, 4, 4)).astype(np.float32)
    before = _winograd_calls()
    fd.conv_transpose2d(x, w, None, stride=2, padding=1)
    assert _winograd_calls() == before + 1


# The same F(2x2, 2x2) for conv2d 4x4 stride 2's forward (winograd_s2_fwd): a 2x2 conv of
# x's 4 c phase planes, >= 8 input and >= 32 output channels per group; it is also
# conv_transpose2d 4x4 s2's dx (the WINOGRAD_S2 cases above check that backward too).
WINOGRAD_S2_FWD = [
    ((2, 8, 9, 7), (32, 8, 4, 4), dict(stride=2, padding=1)),
    ((1, 8, 3, 2), (32, 8, 4, 4), dict(stride=2, padding=2)),
    ((2, 9, 10, 11), (33, 9, 4, 4), dict(stride=2)),
    ((1, 16, 7, 6), (64, 8, 4, 4), dict(stride=2, padding=(1, 2), groups=2)),
    ((1, 8, 4, 1), (32, 8, 4, 4), dict(stride=2, padding=(0, 2))),
    ((3, 8, 18, 16), (32, 8, 4, 4), dict(stride=2, padding=1)),  # bands cross images
]


@pytest.mark.parametrize("x_shape,w_shape,params", WINOGRAD_S2_FWD, ids=str)
def test_conv2d_winograd_s2_fwd(x_shape, w_shape, params, dtype, rng):
    before = _winograd_calls()
    check_op("conv2d", _inputs(x_shape, w_shape, True, w_shape[0]), params, backend="cpu", dtype=dtype,
             rng=rng, gradcheck=False)
    assert _winograd_calls() > before


def test_conv2d_winograd_s2_fwd_noncontiguous(dtype, rng):
    before = _winograd_calls()
    check_op("conv2d", [(2, 8, 9, 8), (32, 8, 4, 4), (32,)], dict(stride=2, padding=1), backend="cpu",
             dtype=dtype, rng=rng, layouts=LAYOUTS["x channels-last"], gradcheck=False)
    assert _winograd_calls() > before


@pytest.mark.parametrize("x_shape,w_shape,params", [
    WINOGRAD_S2[-1], ((64, 64, 16, 16), (64, 32, 4, 4), dict(stride=2, padding=1))], ids=str)
def test_conv_transpose2d_winograd_s2_backward_threads_bit_identical(x_shape, w_shape, params, dtype, rng):
    _fwd_bwd_threads_bit_identical("conv_transpose2d", x_shape, w_shape, params, dtype, rng)


def test_conv_transpose2d_winograd_s2_backward_taken_for_benchmark_shape(rng):
    x = rng.standard_normal((64, 64, 16, 16)).astype(np.float32)
    w = rng.standard_normal((64, 32, 4, 4)).astype(np.float32)
    out, cache = fd.conv_transpose2d_forward(x, w, None, stride=2, padding=1)
    before = _winograd_calls()
    fd.conv_transpose2d_backward(np.ones_like(out), cache)  # dx = conv2d 4x4 s2 of dout
    assert _winograd_calls() == before + 1

