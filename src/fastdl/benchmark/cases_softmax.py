"""Benchmark cases of the softmax family.

Napkin math: forward reads x and writes y (2 n itemsize), backward reads y
and dy and writes dx (3 n itemsize): 5 n itemsize per fwd+bwd. A (4096,
1000) float32 batch is 16 MB per array, so it streams through L3/memory; the
exps (one per value forward, one more in log_softmax's backward) are the
compute side.
"""

import math

import numpy as np

import fastdl as fd

from . import Case, _rand, _torch


def _case(op, shape, axis=-1, dtype=np.float32, quick=False):
    def make():
        x, g = _rand(shape, dtype, 1), _rand(shape, dtype, 2)
        fwd, bwd = getattr(fd, op + "_forward"), getattr(fd, op + "_backward")

        def fastdl_fb():
            y, cache = fwd(x, axis=axis)
            return bwd(g, cache)

        def numpy_fb():
            s = x - x.max(axis=axis, keepdims=True)
            if op == "softmax":
                e = np.exp(s)
                y = e / e.sum(axis=axis, keepdims=True)
                return y, y * (g - (g * y).sum(axis=axis, keepdims=True))
            y = s - np.log(np.exp(s).sum(axis=axis, keepdims=True))
            return y, g - np.exp(y) * g.sum(axis=axis, keepdims=True)

        impls = {"fastdl": fastdl_fb, "numpy": numpy_fb}
        torch = _torch()
        if torch:
            tx, tg = torch.from_numpy(x).requires_grad_(), torch.from_numpy(g)
            tf = torch.softmax if op == "softmax" else torch.log_softmax

            def torch_fb():
                tx.grad = None
                tf(tx, axis).backward(tg)

            impls["torch"] = torch_fb
        return impls

    n = math.prod(shape)
    return Case(op, f"{op} {np.dtype(dtype).name} {shape} axis={axis} fwd+bwd", np.dtype(dtype).name, 0.0,
                5.0 * n * np.dtype(dtype).itemsize, make, quick)


CASES = [
    _case("softmax", (4096, 1000), quick=True),
    _case("log_softmax", (4096, 1000), quick=True),
    _case("softmax", (4096, 1000), dtype=np.float64),
    _case("softmax", (64, 1000, 64), axis=1),          # columns: channel softmax of an NCHW-like tensor
    _case("softmax", (16, 1 << 20)),                   # rows past L2: the online pass
]
