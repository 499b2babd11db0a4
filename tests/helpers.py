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
   exactly where the reference has None; for gradients that cancel (attention's
   dq, dk) the rule also admits the condition-aware bound below (COND_C);
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


FEW_VALUES = 8  # float32 results this small get a 1e-3 floor (see tolerance)


EPS_RATIO = float(np.finfo(np.float64).eps / np.finfo(np.float32).eps)  # 2^-29
# Two stress runs of the property tests (HYPOTHESIS_PROFILE=stress, 37814
# float64 gradient checks): 12 errors above 1e-12 (conv_transpose2d db up to
# 4.5e-12, group_norm dbeta 3.9e-12, batch_norm dx 1.1e-12), at most 4.05 x
# NumPy float32's error x eps64 / eps32 (summation orders differ: NumPy's is
# pairwise). 16 leaves a 4x margin.
F64_FROM_F32 = 16.0


def tolerance(dtype, ref64, ref32):
    """DESIGN's bound: 1e-12 for float64; for float32 max(1e-5, 2 x plain float32 NumPy's error).

    A float32 result of fewer than FEW_VALUES values gets a 1e-3 floor: the
    normwise error of one or two values is the error of a single sum (prelu's
    dalpha, an LSTM cell's dx at N = D = H = 1, upsample2d's dx of a 1x1
    input), which cancels at random, and then float32's error is eps *
    sum|terms| / |sum| in any summation order; NumPy's own (pairwise) order
    is sometimes luckier than 2x ours (0.17% of draws for prelu's one alpha;
    the stress profile found upsample2d's one value, a 169-term sum, at
    2.2e-4 against NumPy's 5.8e-5). A wrong formula misses by far more.

    float64 also admits NumPy float32's error scaled to float64's precision,
    x F64_FROM_F32 (capped at 1e-9). A result that cancels (a bias gradient
    summing to nearly zero, batch_norm's dx over three values) has a relative
    error of ~eps x sum|terms| / |result| in either precision, which a fixed
    1e-12 does not allow for; NumPy float32's error measures that ratio. It
    loosens nothing unless that error is above ~3e-5 (ill-conditioned cases).
    """
    if dtype == np.float64:
        e32 = rel_err(ref32, ref64)
        return max(1e-12, min(1e-9, F64_FROM_F32 * e32 * EPS_RATIO)) if np.isfinite(e32) else 1e-12
    floor = 1e-3 if np.size(ref64) < FEW_VALUES else 1e-5
    return max(floor, 2 * rel_err(ref32, ref64))


# Condition-aware bound for gradients that are small differences of
# large terms. Where a softmax row of attention is nearly one-hot, dS = P (dP
# - delta) cancels: dq and dk come out of sums whose terms are ~1/(1 - max P)
# times larger than the result, and any float32 evaluation (NumPy's included)
# has a relative error of ~eps times that ratio. Its rounding then decides
# which of two float32 formulas is luckier, so "2 x NumPy's error" fails at
# random (up to ~40x on ~1% of tiny random draws). For such an output the
# bound also admits COND_C * eps * ||M|| / ||ref|| (eps of the dtype: float64
# has the same cancellation below its 1e-12), where M is the
# elementwise magnitude of the terms the exact formula sums, computed from
# the float64 reference: the forward error of a stable evaluation. On
# well-conditioned outputs ||M|| / ||ref|| is ~1 and this is far below the
# floors. Measured on 6000 draws of test_properties_layers' attention cases
# (masks, causal, both backends, both dtypes): the error is at most 1.3 x
# eps ||M|| / ||ref||; where it exceeded 2 x NumPy's float32 error (4000
# plain draws, lq, lk <= 12), at most 0.41 x.
COND_C = 4.0


def grad_tolerance(dtype, ref64, ref32, mag):
    """tolerance(), or the condition-aware bound where mag (see COND_C) is given and larger."""
    tol = tolerance(dtype, ref64, ref32)
    den = np.linalg.norm(ref64)
    if mag is None or den == 0:
        return tol
    return max(tol, COND_C * np.finfo(dtype).eps * np.linalg.norm(mag) / den)


def _sdpa_magnitudes(dout, out, cache):
    """|terms| of dq, dk (dv has no cancellation): P (|dP| + rho) times |k|, |q|.

    rho bounds delta's error sources: sum P |dP| (the direct form) and
    sum |dout| |out| (the flash form, delta = rowsum(dout * out)).
    """
    q, k, v, p, scale = cache
    t = lambda a: np.swapaxes(a, -1, -2)
    dp = np.abs(dout @ t(v))
    rho = (p * dp).sum(-1, keepdims=True) + (np.abs(dout) * np.abs(out)).sum(-1, keepdims=True)
    g = p * (dp + rho)
    return scale * g @ np.abs(k), scale * t(g) @ np.abs(q), None


_MAGNITUDES = {"scaled_dot_product_attention": _sdpa_magnitudes}


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


def check_op(op, inputs, params=None, *, backend, dtype, rng=None, gradcheck=True, layouts=None):
    """Check op NAME end to end; `inputs` are shapes (random data) or arrays.

    `layouts` maps an input index to a function applied to that input
    (e.g. a transposed or strided view) before the call; the reference gets
    the same values.
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
            err, tol = rel_err(o, r), tolerance(dtype, r, r32)
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
        mag_fn = _MAGNITUDES.get(op)
        mags = mag_fn(_cast(dout, np.float64), ref, ref_cache) if mag_fn else (None,) * len(grads)
        for k, (g, r, r32, mag) in enumerate(zip(grads, ref_grads, ref_grads32, mags)):
            if r is None:
                assert g is None, f"{op} grad {k} should be None"
                continue
            assert isinstance(g, np.ndarray) and g.dtype == dtype, f"{op} grad {k}: {type(g)} {getattr(g, 'dtype', '')}"
            assert g.shape == np.shape(xs[k]), f"{op} grad {k} shape {g.shape} != input shape {np.shape(xs[k])}"
            err, tol = rel_err(g, r), grad_tolerance(dtype, r, r32, mag)
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
