"""csrc/cpu/vmath: each function of each ISA against the float64 std:: result.

The error bounds asserted here are the ones stated in csrc/cpu/vmath_simd.h,
in units in the last place (ulp) of the result's dtype, measured on fresh
random samples over each function's whole range plus the edge cases:
+-0, +-inf, NaN, subnormals, the largest finite values, overflow and
underflow thresholds and the points where an implementation switches
method. The float64 std:: result comes from the generic (std::) variant run
on float64 inputs, through the same test hook.
"""

import numpy as np
import pytest

from fastdl import _cpu

ISAS = [i for i in ("generic", "avx2", "avx512") if ("generic", "avx2", "avx512").index(i)
        <= ("generic", "avx2", "avx512").index(_cpu.isa_supported())]

# max |y - ref| / ulp(ref), (float32, float64): vmath_simd.h's table
BOUNDS = {
    "exp": (1.0, 1.0),
    "tanh": (2.5, 2.0),
    "sigmoid": (3.0, 2.0),
    "erf": (3.0, 2.0),
    "log": (1.0, 1.0),
    "log1p": (3.0, 2.0),
}

# (low, high) of a uniform sample that covers where each function is not constant
RANGES = {
    "exp": {np.float32: (-105.0, 89.0), np.float64: (-746.0, 710.0)},
    "tanh": {np.float32: (-10.0, 10.0), np.float64: (-20.0, 20.0)},
    "sigmoid": {np.float32: (-105.0, 30.0), np.float64: (-746.0, 40.0)},
    "erf": {np.float32: (-4.5, 4.5), np.float64: (-6.5, 6.5)},
    "log": {np.float32: (0.0, 10.0), np.float64: (0.0, 10.0)},
    "log1p": {np.float32: (-1.0, 10.0), np.float64: (-1.0, 10.0)},
}

# method switch points (vmath_simd.h) and other values worth hitting exactly
SWITCHES = {
    "exp": [88.72283, 88.72284, 88.7229, -87.33655, -103.97, -103.98, 709.782712893384, 709.79,
            -708.3964, -745.1332, -745.14, 0.34657359, -0.34657359],
    "tanh": [0.625, -0.625, 9.0, 19.0, 1e-4],
    "sigmoid": [-87.33655, -88.7, -103.97, -745.1, 16.7, 36.8],
    "erf": [1.0, -1.0, 3.9, 4.0, 5.9, 6.0, 0.5],
    "log": [1.0, 2.0, 0.5, 1.4142135623730951, 0.7071067811865476, 1e-300, 1e-40],
    "log1p": [-1.0, -0.99999, 1e-8, -1e-8, 1e-30, 0.4142135, -0.2928932],
}


def edge_values(dtype):
    fi = np.finfo(dtype)
    tiny_sub = np.nextafter(dtype(0), dtype(1))
    return np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, fi.max, -fi.max, fi.tiny, -fi.tiny,
                     tiny_sub, -tiny_sub, fi.tiny / 2, -fi.tiny / 3, 1.0, -1.0, 1e30, -1e30, fi.eps,
                     -fi.eps], dtype=dtype)


def sample(name, dtype, rng, n=200_000):
    lo, hi = RANGES[name][dtype]
    fi = np.finfo(dtype)
    log_lo = np.log10(float(np.nextafter(dtype(0), dtype(1))))
    mags = 10.0 ** rng.uniform(log_lo, np.log10(float(fi.max)), n)  # every binade, subnormals to max
    with np.errstate(over="ignore"):
        parts = [
            rng.uniform(lo, hi, n),
            rng.standard_normal(n),
            mags * rng.choice([-1.0, 1.0], n),
            np.array(SWITCHES[name], np.float64),
        ]
        x = np.concatenate(parts).astype(dtype)
    # each switch point and its float neighbours
    sw = np.array(SWITCHES[name], dtype)
    x = np.concatenate([x, sw, np.nextafter(sw, dtype(np.inf)), np.nextafter(sw, dtype(-np.inf)), edge_values(dtype)])
    return x


def call(name, isa, x):
    y = np.empty_like(x)
    _cpu._vmath(name, isa, y, x)
    return y


def reference(name, x):
    x64 = x.astype(np.float64)
    return call(name, "generic", x64)


def ulp_errors(y, ref, dtype):
    """|y - ref| in ulps of ref rounded to dtype; non-finite references must match exactly."""
    with np.errstate(over="ignore", invalid="ignore"):
        ref_r = ref.astype(dtype)
        finite = np.isfinite(ref_r)
        spacing = np.spacing(np.abs(ref_r)).astype(np.float64)
        err = np.where(finite, np.abs(y.astype(np.float64) - ref) / np.where(finite, spacing, 1.0), 0.0)
    same_nonfinite = (y == ref_r) | (np.isnan(y) & np.isnan(ref_r))
    err = np.where(finite, err, np.where(same_nonfinite, 0.0, np.inf))
    return np.where(np.isnan(err), np.inf, err)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_error_bound(name, isa, dtype, rng):
    x = sample(name, dtype, rng)
    y = call(name, isa, x)
    ref = reference(name, x)
    err = ulp_errors(y, ref, dtype)
    bound = BOUNDS[name][0 if dtype == np.float32 else 1]
    worst = int(np.argmax(err))
    assert err[worst] <= bound, (
        f"{name} {isa} {np.dtype(dtype).name}: {err[worst]:.3g} ulp > {bound} at x={x[worst]!r}: "
        f"got {y[worst]!r}, std:: {ref[worst]!r}")


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_special_values(name, isa, dtype):
    # NaN -> NaN; +-inf as std::; odd functions keep -0; nothing else is NaN.
    x = edge_values(dtype)
    y = call(name, isa, x)
    ref = reference(name, x).astype(dtype)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref), err_msg=f"{name} {isa}: NaN pattern")
    inf = np.isinf(ref)
    np.testing.assert_array_equal(y[inf], ref[inf], err_msg=f"{name} {isa}: infinities")
    zero = ref == 0
    np.testing.assert_array_equal(np.signbit(y[zero]), np.signbit(ref[zero]), err_msg=f"{name} {isa}: sign of 0")


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_tails_and_in_place(name, isa, dtype, rng):
    # Every length 0..40 and offset 0..3: the same value gives the same bits
    # wherever it sits (full register, partial tail), and y may be x.
    lo, hi = RANGES[name][dtype]
    x = rng.uniform(max(lo, -30), min(hi, 30), 64).astype(dtype)
    full = call(name, isa, x)
    for off in range(4):
        for n in range(0, 41):
            part = x[off:off + n].copy()
            np.testing.assert_array_equal(call(name, isa, part), full[off:off + n])
    inplace = x.copy()
    _cpu._vmath(name, isa, inplace, inplace)
    np.testing.assert_array_equal(inplace, full)


def test_hook_rejects_bad_arguments():
    x = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="unknown function 'cos'"):
        _cpu._vmath("cos", "generic", np.empty_like(x), x)
    with pytest.raises(ValueError, match="unknown isa 'sse9'"):
        _cpu._vmath("exp", "sse9", np.empty_like(x), x)
    with pytest.raises(TypeError, match="differs"):
        _cpu._vmath("exp", "generic", np.empty(4), x)
    with pytest.raises(ValueError, match="one size"):
        _cpu._vmath("exp", "generic", np.empty(3, np.float32), x)
