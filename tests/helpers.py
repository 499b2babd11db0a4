"""One test helper for every op: ``check_op``.

check_op(op, inputs, params, backend=..., dtype=...) draws fresh random
inputs (or takes the arrays given), then checks

1. forward against ``fastdl.reference`` in float64: relative error
   ||out - ref|| / ||ref|| under 1e-12 (float64) or, for float32, under
   max(1e-5, 2 x the error of the same formula computed by plain float32
   NumPy) -- DESIGN's rule, derived per case instead of guessed;
2. the inference entry point ``fd.NAME`` gives the forward output bit for bit;
3. outputs: right dtype, NumPy, C-contiguous, not sharing memory with inputs;
4. backward against the reference backward, same tolerance rule, and None
   exactly where the reference has None;
5. no input modified by forward or backward (bitwise);
6. with float64, ``fd.gradcheck`` numerical gradients on the same backend.

Outputs are poisoned with NaN while it runs (fastdl._alloc.poison), so an
element a kernel forgets to write fails the comparison.
"""

from __future__ import annotations

import contextlib

import numpy as np

import fastdl
from fastdl import _alloc, _cpu, reference

# The native ISA variants this CPU runs (FASTDL_ISA order), for tests that run
# a kernel on each through conftest's `isa` fixture.
_ISA_ORDER = ("generic", "avx2", "avx512")
ISAS = _ISA_ORDER[: _ISA_ORDER.index(_cpu.isa_supported()) + 1]

@contextlib.contextmanager
def at_threads(n):
    """fastdl runs on n threads inside the block; the previous count is restored."""
    old = fastdl.get_num_threads()
    fastdl.set_num_threads(n)
    try:
        yield
    finally:
        fastdl.set_num_threads(old)


GRADCHECK_TOL = 1e-6  # central differences, eps 1e-6, float64: ~1e-9 when right


def rel_err(x, ref):
    x, ref = np.asarray(x, np.float64), np.asarray(ref, np.float64)
    if x.shape != ref.shape:
        raise AssertionError(f"shape {x.shape} != reference {ref.shape}")
    den = np.linalg.norm(ref)
    num = np.linalg.norm(x - ref)
    if not np.isfinite(num):
        return np.inf
    return float(num / den) if den > 0 else float(num)


FEW_VALUES = 8  # float32 results this small get a 1e-4 floor (see tolerance)


def tolerance(dtype, ref64, ref32, f32_floor=1e-5):
    """DESIGN's bound: 1e-12 for float64; for float32 max(1e-5, 2 x plain float32 NumPy's error).

    A float32 result of fewer than FEW_VALUES values gets a 1e-4 floor: the
    normwise error of one or two values is the error of a single sum (prelu's
    dalpha, an LSTM cell's dx at N = D = H = 1), which cancels at random, and
    then float32's error is eps * sum|terms| / |sum| in any summation order;
    NumPy's own order is sometimes luckier than 2x ours (0.17% of draws for
    prelu's one alpha; none of 3000 above 1e-4).
    """
    if dtype == np.float64:
        return 1e-12
    floor = max(f32_floor, 1e-4) if np.size(ref64) < FEW_VALUES else f32_floor
    return max(floor, 2 * rel_err(ref32, ref64))


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _draw(spec, dtype, rng):
    """A shape tuple becomes fresh N(0, 1) data (never all zeros); arrays pass through."""
    if isinstance(spec, tuple):
        return rng.standard_normal(spec).astype(dtype)
    if isinstance(spec, np.ndarray) and spec.dtype.kind == "f":
        return spec.astype(dtype)
    return spec


def _cast(x, dtype):
    return x.astype(dtype) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x


def check_op(op, inputs, params=None, *, backend, dtype, rng=None, gradcheck=True, layouts=None, f32_floor=1e-5):
    """Check op NAME end to end; `inputs` are shapes (random data) or arrays.

    `layouts` maps an input index to a function applied to that input
    (e.g. a transposed or strided view) before the call; the reference gets
    the same values. `f32_floor` is the float32 bound's floor (DESIGN: 1e-5);
    only the property tests raise it (see test_properties_layers.py).
    """
    params = params or {}
    rng = rng if rng is not None else np.random.default_rng()
    xs = [_draw(s, dtype, rng) for s in inputs]
    if layouts:
        xs = [layouts[i](x) if i in layouts else x for i, x in enumerate(xs)]
    x64 = [_cast(x, np.float64) for x in xs]   # exactly the same values, in float64
    x32 = [_cast(x, np.float32) for x in xs]
    before = [x.copy() if isinstance(x, np.ndarray) else x for x in xs]

    forward = getattr(fastdl, op + "_forward")
    backward = getattr(fastdl, op + "_backward")
    infer = getattr(fastdl, op)
    ref_fwd = getattr(reference, op + "_forward")
    ref_bwd = getattr(reference, op + "_backward")

    old = _alloc.poison(True)
    try:
        with fastdl.use_backend(backend):
            out, cache = forward(*xs, **params)
            out_inf = infer(*xs, **params)
        ref, ref_cache = ref_fwd(*x64, **params)
        ref_f32, _ = ref_fwd(*x32, **params)

        outs, refs, refs32, infs = map(_as_tuple, (out, ref, ref_f32, out_inf))
        for k, (o, r, r32, oi) in enumerate(zip(outs, refs, refs32, infs)):
            assert isinstance(o, np.ndarray), f"{op} output {k} is {type(o)}"
            assert o.dtype == dtype, f"{op} output {k} dtype {o.dtype}, expected {np.dtype(dtype)}"
            assert o.flags.c_contiguous, f"{op} output {k} is not C-contiguous"
            assert not any(np.shares_memory(o, x) for x in xs if isinstance(x, np.ndarray)), \
                f"{op} output {k} aliases an input"
            err, tol = rel_err(o, r), tolerance(dtype, r, r32, f32_floor)
            assert err <= tol, f"{op} forward output {k}: rel err {err:.3g} > {tol:.3g} ({backend}, {np.dtype(dtype)})"
            np.testing.assert_array_equal(oi, o, err_msg=f"{op}: inference and forward outputs differ")

        douts = tuple(rng.standard_normal(o.shape).astype(dtype) for o in outs)
        dout = douts if isinstance(out, tuple) else douts[0]
        with fastdl.use_backend(backend):
            grads = backward(dout, cache)
        ref_grads = ref_bwd(_cast(dout, np.float64) if not isinstance(dout, tuple) else tuple(_cast(d, np.float64) for d in dout), ref_cache)
        _, ref_cache32 = ref_fwd(*x32, **params)
        ref_grads32 = ref_bwd(_cast(dout, np.float32) if not isinstance(dout, tuple) else tuple(_cast(d, np.float32) for d in dout), ref_cache32)
        assert isinstance(grads, tuple), f"{op}_backward must return a tuple, got {type(grads)}"
        assert len(grads) == len(ref_grads), f"{op}_backward returned {len(grads)} grads, reference {len(ref_grads)}"
        for k, (g, r, r32) in enumerate(zip(grads, ref_grads, ref_grads32)):
            if r is None:
                assert g is None, f"{op} grad {k} should be None"
                continue
            assert isinstance(g, np.ndarray) and g.dtype == dtype, f"{op} grad {k}: {type(g)} {getattr(g, 'dtype', '')}"
            assert g.shape == np.shape(xs[k]), f"{op} grad {k} shape {g.shape} != input shape {np.shape(xs[k])}"
            err, tol = rel_err(g, r), tolerance(dtype, r, r32, f32_floor)
            assert err <= tol, f"{op} backward grad {k}: rel err {err:.3g} > {tol:.3g} ({backend}, {np.dtype(dtype)})"
    finally:
        _alloc.poison(old)

    for k, (x, b) in enumerate(zip(xs, before)):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, b, err_msg=f"{op} modified input {k}")

    if gradcheck and dtype == np.float64:
        with fastdl.use_backend(backend):
            report = fastdl.gradcheck(op, *xs, check_seed=int(rng.integers(2**31)), **params)
        bad = {k: v for k, v in report.items() if not v <= GRADCHECK_TOL}
        assert not bad, f"{op} gradcheck ({backend}): {bad}"
    return out
