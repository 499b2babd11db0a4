"""Benchmark cases of the attention family: scaled_dot_product_attention.

Napkin math per case, per head with Lq = Lk = L and D = Dv: the forward pass
is 2 GEMMs (q k^T, P v) = 4 L^2 D flops, the backward 4 more (dv, dP, dq,
dk) = 8 L^2 D; recomputing q k^T in the backward (which both fastdl and
torch's flash kernel do) is not counted. Causal attention counts half.
Bytes: q, k, v, out (and for the backward dout, dq, dk, dv) once each.
Implementations: fastdl, torch.nn.functional.scaled_dot_product_attention
(autograd for fwd+bwd), and NumPy (the float32 reference, which materialises
the scores) where its memory stays reasonable.
"""

import numpy as np

import fastdl as fd
from fastdl import reference

from . import Case, _rand, _torch

OP = "scaled_dot_product_attention"


def _case(shape, causal, dtype, backward=True, quick=False, numpy=True):
    b, h, l, d = shape

    def make():
        q, k, v = (_rand(shape, dtype, s) for s in (1, 2, 3))
        g = _rand(shape, dtype, 4)
        if backward:
            def fastdl_fn():
                out, cache = fd.scaled_dot_product_attention_forward(q, k, v, causal=causal)
                return fd.scaled_dot_product_attention_backward(g, cache)

            def numpy_fn():
                out, cache = reference.scaled_dot_product_attention_forward(q, k, v, causal=causal)
                return reference.scaled_dot_product_attention_backward(g, cache)
        else:
            def fastdl_fn():
                return fd.scaled_dot_product_attention(q, k, v, causal=causal)

            def numpy_fn():
                return reference.scaled_dot_product_attention_forward(q, k, v, causal=causal)[0]

        impls = {"fastdl": fastdl_fn}
        if numpy:
            impls["numpy"] = numpy_fn
        torch = _torch()
        if torch:
            sdpa = torch.nn.functional.scaled_dot_product_attention
            tq, tk, tv = (torch.from_numpy(x).requires_grad_(backward) for x in (q, k, v))
            tg = torch.from_numpy(g)
            if backward:
                def torch_fn():
                    tq.grad = tk.grad = tv.grad = None
                    sdpa(tq, tk, tv, is_causal=causal).backward(tg)
            else:
                def torch_fn():
                    with torch.no_grad():
                        return sdpa(tq, tk, tv, is_causal=causal)
            impls["torch"] = torch_fn
        return impls

    size = np.dtype(dtype).itemsize
    frac = 0.5 if causal else 1.0
    flops = (12.0 if backward else 4.0) * b * h * l * l * d * frac
    nbytes = (9.0 if backward else 4.0) * b * h * l * d * size
    name = (f"sdpa {np.dtype(dtype).name} ({b},{h},{l},{d}){' causal' if causal else ''} "
            f"{'fwd+bwd' if backward else 'fwd'}")
    return Case(OP, name, np.dtype(dtype).name, flops, nbytes, make, quick)


CASES = [
    _case((8, 8, 512, 64), False, np.float32, quick=True),
    _case((8, 8, 512, 64), True, np.float32, quick=True),
    _case((4, 8, 2048, 64), False, np.float32, numpy=False),
    _case((4, 8, 2048, 64), True, np.float32, numpy=False),
    _case((8, 8, 512, 64), False, np.float32, backward=False),
    _case((4, 8, 2048, 64), False, np.float32, backward=False, numpy=False),
    _case((1, 1, 4096, 64), False, np.float32, numpy=False),   # one head: the two-pass backward
    _case((8, 8, 512, 64), False, np.float64),
]
