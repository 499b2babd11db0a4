"""Benchmark cases of the embed family.

Napkin math: embedding forward reads n rows of weight and writes n rows (2 n d
elements); backward zeroes dweight (V d) and adds n rows of dout into it
(about 3 n d): 5 n d + V d elements moved. positional_encoding writes
length x d_model elements but computes a sin or cos per element (compute-bound).
"""

import numpy as np

import fastdl as fd
from fastdl import reference

from . import Case, _rand, _torch


def _embedding_case(n, v, d, dtype, quick):
    def make():
        idx = np.random.default_rng(0).integers(0, v, n)
        w, dout = _rand((v, d), dtype, 1), _rand((n, d), dtype, 2)

        def fastdl_fb():
            y, cache = fd.embedding_forward(idx, w)
            return fd.embedding_backward(dout, cache)

        def numpy_fb():
            y, cache = reference.embedding_forward(idx, w)
            return reference.embedding_backward(dout, cache)

        impls = {"fastdl": fastdl_fb, "numpy": numpy_fb}
        torch = _torch()
        if torch:
            tidx, tw, tdout = torch.from_numpy(idx), torch.from_numpy(w).requires_grad_(), torch.from_numpy(dout)

            def torch_fb():
                tw.grad = None
                torch.nn.functional.embedding(tidx, tw).backward(tdout)

            impls["torch"] = torch_fb
        return impls

    name = np.dtype(dtype).name
    size = np.dtype(dtype).itemsize
    return Case("embedding", f"embedding {name} {n} indices into ({v},{d}) fwd+bwd", name, 0.0,
                (5.0 * n * d + v * d) * size, make, quick)


def _pe_case(length, d_model, quick):
    def make():
        return {"fastdl": lambda: fd.positional_encoding(length, d_model),
                "numpy": lambda: reference.positional_encoding_forward(length, d_model)}

    return Case("positional_encoding", f"positional_encoding float32 ({length},{d_model})", "float32", 0.0,
                4.0 * length * d_model, make, quick)


CASES = [
    _embedding_case(8192, 50000, 512, np.float32, True),
    _pe_case(4096, 512, False),
]
