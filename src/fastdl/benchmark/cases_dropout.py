"""Benchmark cases of the dropout family.

Napkin math: forward reads x and writes y, backward reads dy and writes dx:
4 x the tensor's bytes (the mask is regenerated, never read). Philox costs
10 rounds of two 32x32 -> 64-bit products per 4 elements, so on few cores the
generator, not memory, can be the limit. "numpy" is fastdl.reference (a
vectorised NumPy Philox); torch draws a Bernoulli mask and stores it.
"""

import numpy as np

import fastdl as fd
from fastdl import reference

from . import Case, _rand, _torch


def _dropout_case(n, dtype, quick):
    def make():
        x, dy = _rand((n,), dtype, 1), _rand((n,), dtype, 2)

        def fastdl_fb():
            y, cache = fd.dropout_forward(x, 0.5, seed=42)
            return fd.dropout_backward(dy, cache)

        def numpy_fb():
            y, cache = reference.dropout_forward(x, 0.5, seed=42)
            return reference.dropout_backward(dy, cache)

        impls = {"fastdl": fastdl_fb, "numpy": numpy_fb}
        torch = _torch()
        if torch:
            tx, tdy = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)

            def torch_fb():
                tx.grad = None
                torch.nn.functional.dropout(tx, 0.5, True).backward(tdy)

            impls["torch"] = torch_fb
        return impls

    name = np.dtype(dtype).name
    return Case("dropout", f"dropout p=0.5 {name} {n // 2**20}M fwd+bwd", name, 0.0,
                4.0 * n * np.dtype(dtype).itemsize, make, quick)


CASES = [
    _dropout_case(1 << 24, np.float32, True),
]
