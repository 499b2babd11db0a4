"""Benchmark cases of the conv family: the issue's target shapes (float32, forward + backward).

Napkin math per case: flops = 2 N F oh ow (C/groups) kh kw for the forward,
the same again for each of dx and dw; bytes = what forward and backward must
read and write at least (x, w, out; dout, x, w, dx, dw, db). Depthwise convs
are memory-bound: their GB/s is the number to read. There is no NumPy
implementation worth timing (the reference takes seconds per call).
"""

import numpy as np

import fastdl as fd

from . import Case, _rand, _torch


def _conv_case(name, x_shape, w_shape, params, backward=True, quick=False, transposed=False):
    dtype = np.float32
    op = "conv_transpose2d" if transposed else "conv2d"
    f = w_shape[1] * params.get("groups", 1) if transposed else w_shape[0]

    def make():
        x, w, b = _rand(x_shape, dtype, 1), _rand(w_shape, dtype, 2), _rand((f,), dtype, 3)
        fwd, bwd = getattr(fd, op + "_forward"), getattr(fd, op + "_backward")
        out_shape = getattr(fd, op)(x, w, b, **params).shape
        g = _rand(out_shape, dtype, 4)
        if backward:
            def fastdl_fb():
                out, cache = fwd(x, w, b, **params)
                return bwd(g, cache)
            impls = {"fastdl": fastdl_fb}
        else:
            impls = {"fastdl": lambda: getattr(fd, op)(x, w, b, **params)}
        torch = _torch()
        if torch:
            tfn = getattr(torch.nn.functional, op)
            tx, tw, tb = (torch.from_numpy(v).requires_grad_(backward) for v in (x, w, b))
            tg = torch.from_numpy(g)
            if backward:
                def torch_fb():
                    tx.grad = tw.grad = tb.grad = None
                    tfn(tx, tw, tb, **params).backward(tg)
                impls["torch"] = torch_fb
            else:
                def torch_f():
                    with torch.no_grad():
                        return tfn(tx, tw, tb, **params)
                impls["torch"] = torch_f
        return impls

    # Sizes of the conv2d that does the arithmetic (for a transposed conv: its data-gradient twin).
    n, c, h, w = x_shape
    kh, kw = w_shape[2:]
    s = params.get("stride", 1)
    p = params.get("padding", 0)
    if transposed:
        ho = (h - 1) * s - 2 * p + kh
        wo = (w - 1) * s - 2 * p + kw
        macs = n * c * h * w * (w_shape[1]) * kh * kw      # every input pixel x every tap x F/groups
        out_elems = n * f * ho * wo
    else:
        ho = (h + 2 * p - kh) // s + 1
        wo = (w + 2 * p - kw) // s + 1
        macs = n * f * ho * wo * w_shape[1] * kh * kw
        out_elems = n * f * ho * wo
    x_elems, w_elems = n * c * h * w, int(np.prod(w_shape))
    size = np.dtype(dtype).itemsize
    if backward:
        flops = 3 * 2.0 * macs
        nbytes = (x_elems + w_elems + out_elems + out_elems + x_elems + w_elems + x_elems + w_elems + f) * size
    else:
        flops = 2.0 * macs
        nbytes = (x_elems + w_elems + out_elems) * size
    kind = "fwd+bwd" if backward else "fwd"
    return Case(op, f"{name} x{x_shape} w{w_shape} {kind}", "float32", flops, nbytes, make, quick)


CASES = [
    _conv_case("conv3x3 p1", (64, 3, 32, 32), (32, 3, 3, 3), dict(padding=1), quick=True),
    _conv_case("conv3x3 p1", (64, 64, 32, 32), (64, 64, 3, 3), dict(padding=1), quick=True),
    _conv_case("conv3x3 p1", (64, 64, 32, 32), (64, 64, 3, 3), dict(padding=1), backward=False),
    _conv_case("conv3x3 p1", (32, 128, 16, 16), (128, 128, 3, 3), dict(padding=1)),
    _conv_case("conv1x1", (64, 64, 32, 32), (128, 64, 1, 1), {}),
    _conv_case("depthwise3x3 p1", (64, 64, 32, 32), (64, 1, 3, 3), dict(padding=1, groups=64), quick=True),
    _conv_case("conv3x3 s2 p1", (64, 64, 32, 32), (128, 64, 3, 3), dict(stride=2, padding=1)),
    _conv_case("conv_transpose4x4 s2 p1", (64, 64, 16, 16), (64, 32, 4, 4), dict(stride=2, padding=1),
               transposed=True, quick=True),
]
