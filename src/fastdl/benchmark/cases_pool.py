"""Benchmark cases of the pool family (float32, forward + backward): memory-bound.

Napkin math: no flops worth counting; bytes = forward reads x and writes out,
backward reads dout (and x for max, which recomputes its argmax) and writes dx.
NumPy is the course's reshape implementation (2x2 stride 2 windows only).
"""

import numpy as np

import fastdl as fd

from . import Case, _rand, _torch


def _pool_case(op, shape, k, quick):
    dtype = np.float32

    def make():
        x = _rand(shape, dtype, 1)
        n, c, h, w = shape
        g = _rand((n, c, h // k, w // k), dtype, 2)
        fwd, bwd = getattr(fd, op + "_forward"), getattr(fd, op + "_backward")

        def fastdl_fb():
            out, cache = fwd(x, k)
            return bwd(g, cache)

        def numpy_fb():
            xr = x.reshape(n, c, h // k, k, w // k, k)
            if op == "max_pool2d":
                out = xr.max(axis=(3, 5))
                mask = xr == out[:, :, :, None, :, None]
                dx = (mask * (g / mask.sum(axis=(3, 5)))[:, :, :, None, :, None]).reshape(shape)
            else:
                out = xr.mean(axis=(3, 5))
                dx = np.broadcast_to((g / (k * k))[:, :, :, None, :, None], xr.shape).reshape(shape)
            return out, dx

        impls = {"fastdl": fastdl_fb, "numpy": numpy_fb}
        torch = _torch()
        if torch:
            tfn = getattr(torch.nn.functional, op)
            tx, tg = torch.from_numpy(x).requires_grad_(), torch.from_numpy(g)

            def torch_fb():
                tx.grad = None
                tfn(tx, k).backward(tg)

            impls["torch"] = torch_fb
        return impls

    x_bytes = np.prod(shape) * 4
    o_bytes = x_bytes // (k * k)
    reads_x = 2 if op == "max_pool2d" else 1
    nbytes = reads_x * x_bytes + 2 * o_bytes + x_bytes
    return Case(op, f"{op} {k}x{k} s{k} x{shape} fwd+bwd", "float32", 0.0, float(nbytes), make, quick)


CASES = [
    _pool_case("max_pool2d", (64, 64, 32, 32), 2, quick=True),
    _pool_case("avg_pool2d", (64, 64, 32, 32), 2, quick=True),
]
