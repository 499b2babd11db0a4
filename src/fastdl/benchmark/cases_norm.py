"""Benchmark cases of the norm family: forward + backward of each norm.

Napkin math: memory-bound. The minimum traffic of forward + backward is
x read and y written (forward), x and dy read and dx written (backward):
5 x the tensor's bytes; gamma/beta and the statistics are negligible.
"numpy" is the plain-NumPy reference (fastdl.reference) in the case's dtype.
"""

import numpy as np

import fastdl as fd
from fastdl import reference

from . import Case, _rand, _torch


def _norm_case(op, shape, dtype, quick, num_groups=None, normalized_ndim=1):
    name = np.dtype(dtype).name
    c = shape[1]
    pshape = shape[len(shape) - normalized_ndim:] if op == "layer_norm" else (c,)

    def args(x, g, b):
        if op == "batch_norm":
            return (x, g, b, None, None)
        if op == "layer_norm":
            return (x, g, b, normalized_ndim)
        if op == "group_norm":
            return (x, num_groups, g, b)
        return (x, g, b)

    def make():
        x, dy = _rand(shape, dtype, 1), _rand(shape, dtype, 2)
        g, b = _rand(pshape, dtype, 3), _rand(pshape, dtype, 4)
        fwd, bwd = getattr(fd, op + "_forward"), getattr(fd, op + "_backward")
        rfwd, rbwd = getattr(reference, op + "_forward"), getattr(reference, op + "_backward")

        def fastdl_fb():
            y, cache = fwd(*args(x, g, b))
            return bwd(dy, cache)

        def numpy_fb():
            y, cache = rfwd(*args(x, g, b))
            return rbwd(dy, cache)

        impls = {"fastdl": fastdl_fb, "numpy": numpy_fb}
        torch = _torch()
        if torch:
            F = torch.nn.functional
            tx = torch.from_numpy(x).requires_grad_()
            tg, tb = torch.from_numpy(g).requires_grad_(), torch.from_numpy(b).requires_grad_()
            tdy = torch.from_numpy(dy)
            call = {
                "batch_norm": lambda: F.batch_norm(tx, None, None, tg, tb, training=True),
                "layer_norm": lambda: F.layer_norm(tx, pshape, tg, tb),
                "group_norm": lambda: F.group_norm(tx, num_groups, tg, tb),
                "instance_norm": lambda: F.instance_norm(tx, weight=tg, bias=tb),
            }[op]

            def torch_fb():
                tx.grad = tg.grad = tb.grad = None
                call().backward(tdy)

            impls["torch"] = torch_fb
        return impls

    extra = f" {num_groups} groups" if num_groups else (" train" if op == "batch_norm" else "")
    nbytes = 5.0 * np.prod(shape) * np.dtype(dtype).itemsize
    return Case(op, f"{op}{extra} {name} {shape} fwd+bwd", name, 0.0, nbytes, make, quick)


CASES = [
    _norm_case("layer_norm", (64, 128, 512), np.float32, True),
    _norm_case("group_norm", (64, 64, 32, 32), np.float32, True, num_groups=8),
    _norm_case("batch_norm", (64, 64, 32, 32), np.float32, True),
    _norm_case("batch_norm", (4096, 1024), np.float32, False),
    _norm_case("instance_norm", (32, 64, 32, 32), np.float32, False),
    _norm_case("layer_norm", (64, 128, 512), np.float64, False),
]
