"""Reliability-registry entries for the conv, pool and resample families.

Samples cover the shapes the fast paths pick between (1x1 plain GEMM,
depthwise, few input channels, strided/dilated/grouped im2col, transposed
with output_padding), batch 1, odd sizes, zero batch, and one size large
enough to split over threads. tests/test_conv.py, test_pool.py and
test_resample.py hold the value checks; these entries feed the generic ones
in tests/test_reliability.py.
"""

from __future__ import annotations

import numpy as np

F = np.float32


def _r(rng, *shape):
    return rng.standard_normal(shape)


def _not_float(*extra, **kwargs):
    return ((np.ones((2, 3, 5, 5), np.int64), *extra), kwargs, TypeError,
            "x: expected a float32 or float64 array, got int64")


def register_conv(register, OpInfo, ErrorInput):
    """Adds an entry for every op of the conv, pool and resample families."""

    def entry(name, samples, errors):
        register(OpInfo(name, samples=samples, errors=lambda: [ErrorInput(*e) for e in errors()]))

    def conv_samples(rng):
        return [
            ((_r(rng, 1, 1, 1, 1), _r(rng, 1, 1, 1, 1)), {}),
            ((_r(rng, 2, 3, 7, 9), _r(rng, 4, 3, 3, 3), _r(rng, 4)), {"padding": 1}),  # few channels
            ((_r(rng, 2, 8, 6, 5), _r(rng, 5, 8, 1, 1), _r(rng, 5)), {}),  # 1x1: plain GEMM
            ((_r(rng, 2, 6, 9, 8), _r(rng, 6, 1, 3, 3), None), {"padding": 1, "groups": 6}),  # depthwise
            ((_r(rng, 3, 4, 11, 10), _r(rng, 6, 2, 3, 2), _r(rng, 6)),
             {"stride": (2, 3), "padding": (2, 1), "dilation": (2, 1), "groups": 2}),
            ((_r(rng, 4, 16, 20, 20), _r(rng, 24, 16, 3, 3), _r(rng, 24)), {"padding": 1}),  # threads split
            ((_r(rng, 0, 3, 6, 6), _r(rng, 2, 3, 3, 3), _r(rng, 2)), {}),
        ]

    x, w = np.ones((2, 3, 5, 5), F), np.ones((4, 3, 3, 3), F)
    entry("conv2d", conv_samples, lambda: [
        _not_float(w),
        ((x, w.astype(np.float64)), {}, TypeError, "mixed float dtypes"),
        ((x, np.ones((4, 2, 3, 3), F)), {}, ValueError, r"channel mismatch: x \(2, 3, 5, 5\) has 3 channels"),
        ((x, w, np.ones(3, F)), {}, ValueError, r"b must be \(4,\) to match w \(4, 3, 3, 3\), got \(3,\)"),
        ((x[0], w), {}, ValueError, r"x must be \(N, C, H, W\), got shape \(3, 5, 5\)"),
        ((x, np.ones((4, 3, 7, 7), F)), {}, ValueError, "larger than the padded input"),
        ((x, w), {"stride": 0}, ValueError, "stride must be >= 1, got 0"),
        ((x, w), {"stride": 1.5}, TypeError, "stride must be an int"),
        ((x, np.ones((4, 1, 3, 3), F)), {"groups": 2}, ValueError, "groups=2 must divide the input channels"),
    ])

    def conv_t_samples(rng):
        return [
            ((_r(rng, 1, 1, 1, 1), _r(rng, 1, 1, 1, 1)), {}),
            ((_r(rng, 2, 4, 5, 6), _r(rng, 4, 3, 4, 4), _r(rng, 3)), {"stride": 2, "padding": 1}),
            ((_r(rng, 2, 4, 5, 5), _r(rng, 4, 2, 3, 3), _r(rng, 4)),
             {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
            ((_r(rng, 1, 3, 4, 7), _r(rng, 3, 2, 2, 3), None), {"stride": (1, 2), "dilation": (2, 1)}),
            ((_r(rng, 4, 16, 12, 12), _r(rng, 16, 8, 4, 4), _r(rng, 8)), {"stride": 2, "padding": 1}),
            ((_r(rng, 0, 3, 4, 4), _r(rng, 3, 2, 3, 3), None), {}),
        ]

    wt = np.ones((3, 4, 3, 3), F)
    entry("conv_transpose2d", conv_t_samples, lambda: [
        _not_float(wt),
        ((x, np.ones((2, 4, 3, 3), F)), {}, ValueError, r"channel mismatch: x \(2, 3, 5, 5\) has 3 channels"),
        ((x, wt), {"stride": 2, "output_padding": 2}, ValueError, "output_padding .* must be smaller than stride"),
        ((x, wt, np.ones(3, F)), {}, ValueError, r"b must be \(4,\) to match w \(3, 4, 3, 3\), got \(3,\)"),
        ((x, wt.astype(np.float64)), {}, TypeError, "mixed float dtypes"),
    ])

    def pool_samples(extra):
        def samples(rng):
            return [
                ((_r(rng, 1, 1, 1, 1), 1), {}),
                ((_r(rng, 2, 3, 8, 8), 2), {}),
                ((_r(rng, 2, 3, 9, 7), 3), {"stride": 2, "padding": 1, **extra}),
                ((_r(rng, 1, 2, 7, 10), (2, 3)), {"stride": (3, 1), **extra}),
                ((_r(rng, 8, 16, 24, 24), 2), {}),  # threads split over N*C
                ((_r(rng, 0, 3, 4, 4), 2), {}),
            ]
        return samples

    entry("max_pool2d", pool_samples({"ties": "split"}), lambda: [
        _not_float(2),
        ((x[0], 2), {}, ValueError, r"x must be \(N, C, H, W\), got shape \(3, 5, 5\)"),
        ((x, 2), {"padding": 2}, ValueError, "must be at most half the kernel size"),
        ((x, 2), {"ties": "x"}, ValueError, "ties must be 'first' or 'split'"),
    ])
    entry("avg_pool2d", pool_samples({"count_include_pad": False}), lambda: [
        _not_float(2),
        ((x, 7), {}, ValueError, r"kernel \(7, 7\) is larger than the padded input \(5, 5\)"),
        ((x, 2), {"count_include_pad": 1}, TypeError, "count_include_pad must be a bool"),
    ])

    def up_samples(rng):
        return [
            ((_r(rng, 1, 1, 1, 1),), {"scale_factor": 2}),
            ((_r(rng, 2, 3, 4, 5),), {"scale_factor": 2, "mode": "nearest"}),
            ((_r(rng, 2, 3, 4, 5),), {"size": (7, 9), "mode": "bilinear"}),
            ((_r(rng, 2, 3, 4, 5),), {"scale_factor": (2, 3), "mode": "bilinear", "align_corners": True}),
            ((_r(rng, 1, 2, 5, 4),), {"size": (11, 6), "mode": "bicubic"}),
            ((_r(rng, 1, 2, 5, 4),), {"scale_factor": 1.5, "mode": "bicubic", "align_corners": True}),
            ((_r(rng, 4, 16, 16, 16),), {"scale_factor": 2, "mode": "bilinear"}),  # threads split
            ((_r(rng, 0, 3, 4, 4),), {"scale_factor": 2}),
        ]

    entry("upsample2d", up_samples, lambda: [
        _not_float(scale_factor=2),
        ((x,), {"scale_factor": 2, "mode": "linear"}, ValueError, "mode must be one of"),
        ((x,), {"size": (3, 3), "scale_factor": 2}, ValueError, "give exactly one of size and scale_factor"),
        ((x,), {"scale_factor": 2, "align_corners": True}, ValueError, "align_corners=True needs mode"),
        ((x,), {"scale_factor": -1}, ValueError, "scale_factor must be finite and > 0"),
    ])
