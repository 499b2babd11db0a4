"""Benchmark cases of the matmul family: GEMM, batched GEMM, affine, per-call overhead.

Napkin math per case: flops = 2 m n k per GEMM (x3 for forward + backward);
bytes = each operand read once and the result written once.
"""

import numpy as np

import fastdl as fd

from . import Case, _rand, _torch

def _gemm_case(n, dtype, quick):
    def make():
        a, b = _rand((n, n), dtype, 1), _rand((n, n), dtype, 2)
        impls = {"fastdl": lambda: fd.matmul(a, b), "numpy": lambda: a @ b}
        torch = _torch()
        if torch:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            impls["torch"] = lambda: torch.mm(ta, tb)
        return impls

    size = np.dtype(dtype).itemsize
    return Case("matmul", f"matmul {np.dtype(dtype).name} {n}x{n}x{n}", np.dtype(dtype).name,
                2.0 * n**3, 3.0 * n * n * size, make, quick)


def _bmm_case(batch, n, dtype, backward, quick):
    def make():
        a, b = _rand((batch, n, n), dtype, 1), _rand((batch, n, n), dtype, 2)
        g = _rand((batch, n, n), dtype, 3)
        if not backward:
            impls = {"fastdl": lambda: fd.matmul(a, b), "numpy": lambda: np.matmul(a, b)}
        else:
            def fastdl_fb():
                out, cache = fd.matmul_forward(a, b)
                return fd.matmul_backward(g, cache)

            def numpy_fb():
                return a @ b, g @ b.swapaxes(1, 2), a.swapaxes(1, 2) @ g

            impls = {"fastdl": fastdl_fb, "numpy": numpy_fb}
        torch = _torch()
        if torch:
            ta = torch.from_numpy(a).requires_grad_(backward)
            tb = torch.from_numpy(b).requires_grad_(backward)
            tg = torch.from_numpy(g)
            if not backward:
                impls["torch"] = lambda: torch.bmm(ta, tb)
            else:
                def torch_fb():
                    ta.grad = tb.grad = None
                    torch.bmm(ta, tb).backward(tg)

                impls["torch"] = torch_fb
        return impls

    calls = 3 if backward else 1
    size = np.dtype(dtype).itemsize
    kind = "fwd+bwd" if backward else "fwd"
    return Case("matmul", f"bmm {np.dtype(dtype).name} ({batch},{n},{n})@({batch},{n},{n}) {kind}",
                np.dtype(dtype).name, calls * 2.0 * batch * n**3, calls * 3.0 * batch * n * n * size, make, quick)


def _affine_case(n, d, m, dtype, quick):
    def make():
        x, w, b = _rand((n, d), dtype, 1), _rand((d, m), dtype, 2), _rand((m,), dtype, 3)
        g = _rand((n, m), dtype, 4)

        def fastdl_fb():
            y, cache = fd.affine_forward(x, w, b)
            return fd.affine_backward(g, cache)

        def numpy_fb():
            return x @ w + b, g @ w.T, x.T @ g, g.sum(0)

        impls = {"fastdl": fastdl_fb, "numpy": numpy_fb}
        torch = _torch()
        if torch:
            tx, tw, tb = (torch.from_numpy(v).requires_grad_() for v in (x, w, b))
            tg = torch.from_numpy(g)

            def torch_fb():
                tx.grad = tw.grad = tb.grad = None
                torch.addmm(tb, tx, tw).backward(tg)

            impls["torch"] = torch_fb
        return impls

    size = np.dtype(dtype).itemsize
    return Case("affine", f"affine {np.dtype(dtype).name} x({n},{d}) w({d},{m}) fwd+bwd", np.dtype(dtype).name,
                3 * 2.0 * n * d * m, (2 * n * d + 2 * d * m + 3 * n * m) * size, make, quick)


def _tiny_matmul_case():
    def make():
        a, b = _rand((4, 4), np.float32, 1), _rand((4, 4), np.float32, 2)
        impls = {"fastdl": lambda: fd.matmul(a, b), "numpy": lambda: np.matmul(a, b)}
        torch = _torch()
        if torch:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            impls["torch"] = lambda: torch.mm(ta, tb)
        return impls

    return Case("matmul", "matmul float32 4x4 (per-call overhead)", "float32", 128.0, 192.0, make, True)


CASES = [
    _tiny_matmul_case(),
    *(_gemm_case(n, dt, quick=(n == 1024)) for dt in (np.float32, np.float64) for n in (512, 1024, 2048)),
    _bmm_case(256, 64, np.float32, backward=False, quick=True),
    _bmm_case(256, 64, np.float32, backward=True, quick=True),
    _affine_case(128, 3072, 100, np.float32, quick=True),
    _affine_case(128, 3072, 100, np.float64, quick=False),
]


