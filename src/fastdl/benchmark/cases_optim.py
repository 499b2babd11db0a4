"""Benchmark cases of the optim family: one step over 10M float32 params in 10 tensors.

Napkin math (memory-bound, 4 bytes per float32):
  adam     p, g, m, v read, p, m, v written: 7 x 4 x 10M = 280 MB
  sgd      (momentum) p, g, buf read, p, buf written: 5 x 4 x 10M = 200 MB
  rmsprop  p, g, sq read, p, sq written: 200 MB
  clip     g read for the norm, then read and written to scale: 3 x 4 x 10M = 120 MB
Implementations: fastdl; "numpy" = fastdl.reference (plain NumPy, one tensor
at a time); torch.optim's default (for-loop on the CPU), and for Adam also
torch's foreach=True and fused=True implementations.
"""

import numpy as np

import fastdl as fd
from fastdl import reference

from . import Case, _rand, _torch

N_TENSORS, PER_TENSOR = 10, 1_000_000


def _params(dtype):
    return [_rand((PER_TENSOR,), dtype, k) for k in range(N_TENSORS)]


def _step_case(op, hyper, nbytes_per, quick):
    def make():
        params, grads = _params(np.float32), [0.01 * g for g in _params(np.float32)[::-1]]
        state, ref_state, ref_params = {}, {}, [p.copy() for p in params]
        fn = getattr(fd, op)
        impls = {
            "fastdl": lambda: fn(params, grads, state, **hyper),
            "numpy": lambda: getattr(reference, op)(ref_params, grads, ref_state, **hyper),
        }
        torch = _torch()
        if torch:
            variants = {"torch": {}}
            if op == "adam_step":
                variants.update({"torch-foreach": {"foreach": True}, "torch-fused": {"fused": True}})
            for name, extra in variants.items():
                tp = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
                for t, g in zip(tp, grads):
                    t.grad = torch.from_numpy(g)
                h = dict(hyper)
                cls = {"sgd_step": torch.optim.SGD, "rmsprop_step": torch.optim.RMSprop,
                       "adam_step": torch.optim.AdamW if h.pop("decoupled", False) else torch.optim.Adam}[op]
                impls[name] = cls(tp, **h, **extra).step
        return impls

    n = N_TENSORS * PER_TENSOR
    desc = ", ".join(f"{k}={v}" for k, v in hyper.items())
    return Case(op, f"{op} float32 {n // 1_000_000}M params in {N_TENSORS} tensors ({desc})", "float32", 0.0,
                nbytes_per * 4.0 * n, make, quick)


def _clip_case(quick):
    def make():
        grads = _params(np.float32)
        ref_grads = [g.copy() for g in grads]
        # Every call clips: after the first, the norm sits just under max_norm = 1 and the
        # coefficient 1 / (norm + 1e-6) stays just under 1, so each call reads and scales.
        impls = {"fastdl": lambda: fd.clip_grad_norm(grads, 1.0),
                 "numpy": lambda: reference.clip_grad_norm(ref_grads, 1.0)}
        torch = _torch()
        if torch:
            tp = [torch.zeros(g.shape, requires_grad=True) for g in grads]
            for t, g in zip(tp, grads):
                t.grad = torch.from_numpy(g.copy())
            impls["torch"] = lambda: torch.nn.utils.clip_grad_norm_(tp, 1.0)
        return impls

    n = N_TENSORS * PER_TENSOR
    return Case("clip_grad_norm", f"clip_grad_norm float32 {n // 1_000_000}M grads in {N_TENSORS} tensors",
                "float32", 0.0, 3 * 4.0 * n, make, quick)


CASES = [
    _step_case("adam_step", {"lr": 1e-3}, 7, True),
    _step_case("adam_step", {"lr": 1e-3, "weight_decay": 0.01, "decoupled": True}, 7, False),
    _step_case("sgd_step", {"lr": 0.01, "momentum": 0.9}, 5, False),
    _step_case("rmsprop_step", {"lr": 0.01}, 5, False),
    _clip_case(False),
]
