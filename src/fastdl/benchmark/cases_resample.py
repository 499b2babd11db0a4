"""Benchmark cases of the resample family (float32, forward + backward): memory-bound.

Napkin math: bytes = forward reads x and writes out, backward reads dout and
writes dx. NumPy is np.repeat for nearest (and its reshape-sum backward); it
has no bilinear resize.
"""

import numpy as np

import fastdl as fd

from . import Case, _rand, _torch


def _upsample_case(mode, shape, scale, quick):
    dtype = np.float32
    n, c, h, w = shape

    def make():
        x = _rand(shape, dtype, 1)
        g = _rand((n, c, h * scale, w * scale), dtype, 2)

        def fastdl_fb():
            out, cache = fd.upsample2d_forward(x, scale_factor=scale, mode=mode)
            return fd.upsample2d_backward(g, cache)

        impls = {"fastdl": fastdl_fb}
        if mode == "nearest":
            def numpy_fb():
                out = x.repeat(scale, axis=2).repeat(scale, axis=3)
                return out, g.reshape(n, c, h, scale, w, scale).sum(axis=(3, 5))
            impls["numpy"] = numpy_fb
        torch = _torch()
        if torch:
            tx, tg = torch.from_numpy(x).requires_grad_(), torch.from_numpy(g)

            def torch_fb():
                tx.grad = None
                torch.nn.functional.interpolate(tx, scale_factor=scale, mode=mode).backward(tg)

            impls["torch"] = torch_fb
        return impls

    x_bytes = n * c * h * w * 4
    nbytes = 2 * x_bytes + 2 * x_bytes * scale * scale
    return Case("upsample2d", f"upsample2d {mode} x{scale} x{shape} fwd+bwd", "float32", 0.0, float(nbytes), make,
                quick)


CASES = [
    _upsample_case("nearest", (64, 64, 16, 16), 2, quick=True),
    _upsample_case("bilinear", (64, 64, 16, 16), 2, quick=True),
    _upsample_case("bicubic", (64, 64, 16, 16), 2, quick=False),
]
