"""Benchmark cases of the act family: memory-bound elementwise passes, and
the per-call overhead of a tiny input.

Napkin math: forward reads x and writes y (2 n itemsize bytes); backward
reads one of x / y and dy and writes dx (3 n itemsize); fwd+bwd 5 n itemsize.
All of it streams from memory at 16M elements, so GB/s against the
machine's bandwidth (about 32 GB/s for a 3-stream add on one core here) is
the figure of merit; flops are left out (0).
"""

import math

import numpy as np

import fastdl as fd

from . import Case, _rand, _torch

_K = math.sqrt(2 / math.pi)


def _numpy_fb(op):
    """NumPy forward + backward of op, from the formulas."""
    if op == "relu":
        return lambda x, g: (np.maximum(x, 0), np.where(x > 0, g, 0))
    if op == "sigmoid":
        def fb(x, g):
            y = 1 / (1 + np.exp(-x))
            return y, g * y * (1 - y)
        return fb
    if op == "gelu_tanh":
        def fb(x, g):
            t = np.tanh(_K * (x + 0.044715 * (x * x * x)))  # (float32 x**3 is a slow pow in NumPy)
            return 0.5 * x * (1 + t), g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _K * (1 + 3 * 0.044715 * x * x))
        return fb
    return None


def _torch_fn(torch, op, params):
    F = torch.nn.functional
    if op == "gelu":
        return lambda t: F.gelu(t, approximate=params.get("approximate", "none"))
    if op == "leaky_relu":
        return lambda t: F.leaky_relu(t, params.get("alpha", 0.01))
    if op == "elu":
        return lambda t: F.elu(t, params.get("alpha", 1.0))
    return {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "silu": F.silu}[op]


def _act_case(op, n, params=None, dtype=np.float32, quick=False, np_name=None):
    params = params or {}

    def make():
        x, g = _rand((n,), dtype, 1), _rand((n,), dtype, 2)
        fwd, bwd = getattr(fd, op + "_forward"), getattr(fd, op + "_backward")

        def fastdl_fb():
            y, cache = fwd(x, **params)
            return bwd(g, cache)

        impls = {"fastdl": fastdl_fb}
        np_fb = _numpy_fb(np_name or op)
        if np_fb:
            impls["numpy"] = lambda: np_fb(x, g)
        torch = _torch()
        if torch:
            tx, tg = torch.from_numpy(x).requires_grad_(), torch.from_numpy(g)
            tf = _torch_fn(torch, op, params)

            def torch_fb():
                tx.grad = None
                tf(tx).backward(tg)

            impls["torch"] = torch_fb
        return impls

    label = op + ("(" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")" if params else "")
    size = np.dtype(dtype).itemsize
    return Case(op, f"{label} {np.dtype(dtype).name} {n} fwd+bwd", np.dtype(dtype).name, 0.0, 5.0 * n * size,
                make, quick)


def _tiny_relu_case(n=16):
    def make():
        x = _rand((n,), np.float32, 1)
        impls = {"fastdl": lambda: fd.relu(x), "numpy": lambda: np.maximum(x, 0)}
        torch = _torch()
        if torch:
            tx = torch.from_numpy(x)
            impls["torch"] = lambda: torch.relu(tx)
        return impls

    return Case("relu", f"relu float32 {n} (per-call overhead)", "float32", 0.0, 2.0 * n * 4, make, True)


def _fwd_out_case(op, n, dtype=np.float32, quick=False):
    """Forward into a reused output buffer (out=): the kernel alone, without
    the first touch of a fresh 64 MB output (about 2.4 ms of page zeroing on
    one core here), so GB/s compares directly with a STREAM-style copy."""

    def make():
        x = _rand((n,), dtype, 1)
        y = np.empty_like(x)
        impls = {"fastdl": lambda: getattr(fd, op)(x, out=y)}
        if op == "relu":
            impls["numpy"] = lambda: np.maximum(x, 0, out=y)
        else:
            impls["numpy"] = lambda: np.divide(1, 1 + np.exp(-x), out=y)
        torch = _torch()
        if torch:
            tx, ty = torch.from_numpy(x), torch.from_numpy(y)
            impls["torch"] = (lambda: torch.clamp(tx, min=0, out=ty)) if op == "relu" else (
                lambda: torch.sigmoid(tx, out=ty))
        return impls

    return Case(op, f"{op} {np.dtype(dtype).name} {n} fwd into out=", np.dtype(dtype).name, 0.0,
                2.0 * n * np.dtype(dtype).itemsize, make, quick)


def _prelu_case(shape, dtype=np.float32):
    def make():
        x, g = _rand(shape, dtype, 1), _rand(shape, dtype, 2)
        a = np.full(shape[1], 0.25, dtype)

        def fastdl_fb():
            y, cache = fd.prelu_forward(x, a)
            return fd.prelu_backward(g, cache)

        impls = {"fastdl": fastdl_fb}
        torch = _torch()
        if torch:
            tx, ta, tg = torch.from_numpy(x).requires_grad_(), torch.from_numpy(a).requires_grad_(), torch.from_numpy(g)

            def torch_fb():
                tx.grad = ta.grad = None
                torch.nn.functional.prelu(tx, ta).backward(tg)

            impls["torch"] = torch_fb
        return impls

    n = math.prod(shape)
    return Case("prelu", f"prelu {np.dtype(dtype).name} {shape} fwd+bwd", np.dtype(dtype).name, 0.0,
                5.0 * n * np.dtype(dtype).itemsize, make)


def _maxout_case(n, pieces, m, dtype=np.float32):
    def make():
        z, g = _rand((n, pieces * m), dtype, 1), _rand((n, m), dtype, 2)

        def fastdl_fb():
            y, cache = fd.maxout_forward(z, pieces)
            return fd.maxout_backward(g, cache)

        def numpy_fb():
            zr = z.reshape(n, pieces, m)
            idx = zr.argmax(1)
            dz = np.zeros_like(zr)
            np.put_along_axis(dz, idx[:, None], g[:, None], 1)
            return zr.max(1), dz

        impls = {"fastdl": fastdl_fb, "numpy": numpy_fb}
        torch = _torch()
        if torch:
            tz, tg = torch.from_numpy(z).requires_grad_(), torch.from_numpy(g)

            def torch_fb():
                tz.grad = None
                tz.view(n, pieces, m).amax(1).backward(tg)

            impls["torch"] = torch_fb
        return impls

    size = np.dtype(dtype).itemsize
    return Case("maxout", f"maxout {np.dtype(dtype).name} ({n},{pieces}*{m}) fwd+bwd", np.dtype(dtype).name, 0.0,
                (3 * n * pieces * m + 2 * n * m) * size, make)


BIG = 1 << 24  # 16M elements: 64 MB per float32 array, well past the 32 MB L3
CASES = [
    _tiny_relu_case(),
    _act_case("relu", BIG, quick=True),
    _fwd_out_case("relu", BIG, quick=True),
    _fwd_out_case("sigmoid", BIG),
    _act_case("sigmoid", BIG, quick=True),
    _act_case("gelu", BIG, {"approximate": "tanh"}, quick=True, np_name="gelu_tanh"),
    _act_case("gelu", BIG),
    _act_case("tanh", BIG),
    _act_case("leaky_relu", BIG),
    _act_case("elu", BIG),
    _act_case("silu", BIG),
    _act_case("relu", BIG, dtype=np.float64),
    _prelu_case((64, 64, 64, 64)),
    _maxout_case(4096, 4, 1024),
]
