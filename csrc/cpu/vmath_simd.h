// Vectorised exp, tanh, sigmoid, erf, log, log1p on any vec.h interface V:
// VMath<V> is V plus these functions, so kernels call M::exp(x) the same way
// for every ISA (the portable path uses Scalar<T>, whose math is std::).
// Also vmath_apply, the body of vmath.h's bulk entry points for one ISA.
// Only templates: instantiated with SIMD types in *_avx2.cpp / *_avx512.cpp.
//
// Methods (coefficients: vmath_coeffs.h, fitted by tools/fit_vmath.py):
//   exp    n = round(x / ln2), r = x - n ln2 (two-constant FMA reduction),
//          e^r = 1 + r (1 + r Q(r)), scaled by 2^n with V::ldexp (AVX-512:
//          vscalefps; AVX2: two factors 2^floor(n/2) 2^(n - floor(n/2))), so
//          subnormal results and overflow to inf come out of one final
//          rounding. x clamped to [lo, hi]
//          beyond which the result is 0 / inf anyway (NaN passes the clamp).
//   tanh   |x| < 0.625: x + x^3 P(x^2); else 1 - 2 / (e^{2|x|} + 1); sign of x.
//   sigmoid  e = exp(-|x|): (x >= 0 ? 1 : e) / (1 + e) (never overflows).
//   erf    |x| < 1: x P(x^2); |x| < 4 (f32) / 6 (f64): 1 - e^{-x^2} H(2 / (2 + |x|))
//          with H a fit of erfcx; beyond: 1 (erf rounds to 1 there); sign of x.
//   log    x = m 2^e, m in [sqrt(1/2), sqrt(2)), f = m - 1, s = f / (2 + f):
//          log(1 + f) = f - (f^2/2 - s (f^2/2 + s^2 P(s^2)))  (fdlibm's form),
//          plus e ln2 in two parts; 0 -> -inf, < 0 -> NaN, inf -> inf.
//   log1p  Kahan's trick: u = 1 + x; u == 1 ? x : log(u) x / (u - 1).
//
// Error bounds against the float64 std:: result, in units in the last place
// of the result's type; tests/test_vmath.py asserts them on fresh random
// samples over each function's range plus the edge cases. The largest error
// seen on 4e7 samples per function (AVX-512 and AVX2 alike) in brackets:
//            float32        float64
//   exp      1   (0.85)     1 (1)
//   tanh     2.5 (1.33)     2 (2)      (glibc's own tanhf: 2.15)
//   sigmoid  3   (2.37)     2 (2)
//   erf      3   (2.47)     2 (2)
//   log      1   (0.75)     1 (1)
//   log1p    3   (2.40)     2 (2)
// Subnormal results count in units of the subnormal spacing. Special values
// follow std::: NaN -> NaN, exp(-inf) = 0, exp(+inf) = inf, tanh(+-inf) = +-1,
// sigmoid(-inf) = 0, erf(+-inf) = +-1, log(0) = -inf, log(<0) = NaN,
// log1p(-1) = -inf; odd functions keep the sign of -0.
#pragma once

#include <limits>
#include <type_traits>

#include "../core/common.h"
#include "vec.h"
#include "vmath.h"
#include "vmath_coeffs.h"

namespace fastdl::cpu {
namespace {  // internal linkage: see Note [ISA files]

template <typename T>
struct VMathConst;

template <>
struct VMathConst<float> {
  static constexpr const float* exp_q = vmath_coeffs::exp_f32;
  static constexpr int exp_n = 6;
  static constexpr float exp_lo = -104.0f, exp_hi = 89.0f;  // e^lo < half the least subnormal, e^hi > max
  static constexpr float ln2_hi = 0.693145751953125f;       // 0x3f317200: ln 2 with its low 9 bits zero
  static constexpr float ln2_lo = 1.42860677e-06f;          // ln 2 - ln2_hi
  static constexpr const float* tanh_p = vmath_coeffs::tanh_f32;
  static constexpr int tanh_n = 5;
  static constexpr const float* log_p = vmath_coeffs::log_f32;
  static constexpr int log_n = 4;
  static constexpr const float* erf_p = vmath_coeffs::erf_small_f32;
  static constexpr int erf_n = 7;
  static constexpr const float* erfcx_p = vmath_coeffs::erfcx_f32;
  static constexpr int erfcx_n = 8;
  static constexpr float erf_one = 4.0f;  // erf(x) rounds to 1 for x >= this
};

template <>
struct VMathConst<double> {
  static constexpr const double* exp_q = vmath_coeffs::exp_f64;
  static constexpr int exp_n = 11;
  static constexpr double exp_lo = -746.0, exp_hi = 710.0;
  static constexpr double ln2_hi = 6.93147180369123816490e-01;  // fdlibm: low 32 bits zero
  static constexpr double ln2_lo = 1.90821492927058770002e-10;
  static constexpr const double* tanh_p = vmath_coeffs::tanh_f64;
  static constexpr int tanh_n = 12;
  static constexpr const double* log_p = vmath_coeffs::log_f64;
  static constexpr int log_n = 7;
  static constexpr const double* erf_p = vmath_coeffs::erf_small_f64;
  static constexpr int erf_n = 12;
  static constexpr const double* erfcx_p = vmath_coeffs::erfcx_f64;
  static constexpr int erfcx_n = 16;
  static constexpr double erf_one = 6.0;
};

template <class V>
struct VMath : V {
  using T = typename V::T;
  using reg = typename V::reg;
  using mask = typename V::mask;
  using C = VMathConst<T>;
  using V::abs, V::copysign, V::fma, V::ge, V::lt, V::eq, V::gt, V::isnan, V::select, V::set1;

  // c[0] + c[1] x + ... + c[n-1] x^(n-1), Horner with FMA.
  static reg poly(reg x, const T* c, int n) {
    reg r = set1(c[n - 1]);
    for (int i = n - 2; i >= 0; --i) r = fma(r, x, set1(c[i]));
    return r;
  }

  static reg exp(reg x) {
    x = V::min(set1(C::exp_hi), V::max(set1(C::exp_lo), x));  // x86 min/max return a NaN x
    const reg n = V::round(x * T(1.4426950408889634));        // x / ln2
    reg r = fma(n, set1(-C::ln2_hi), x);
    r = fma(n, set1(-C::ln2_lo), r);
    const reg p = fma(r, fma(r, poly(r, C::exp_q, C::exp_n), set1(T(1))), set1(T(1)));  // 1 + r (1 + r Q)
    return V::ldexp(p, n);
  }

  static reg tanh(reg x) {
    const reg a = abs(x);
    const mask small = lt(a, set1(T(0.625)));
    reg r;
    if (V::any(V::mnot(small))) {
      const reg e = exp(a + a);
      r = T(1) - T(2) / (e + T(1));  // e = inf -> 1; NaN stays NaN
    } else {
      r = a;
    }
    if (V::any(small)) {
      const reg z = a * a;
      r = select(small, fma(a * z, poly(z, C::tanh_p, C::tanh_n), a), r);
    }
    return copysign(r, x);
  }

  static reg sigmoid(reg x) {
    const reg e = exp(-abs(x));
    return select(ge(x, set1(T(0))), set1(T(1)), e) / (T(1) + e);
  }

  static reg erf(reg x) {
    const reg a = abs(x);
    const mask mid = ge(a, set1(T(1))), one = ge(a, set1(C::erf_one));  // NaN: neither
    reg r = a * poly(a * a, C::erf_p, C::erf_n);
    if (V::any(mid)) {
      const reg t = T(2) / (T(2) + a);
      const reg tail = exp(-(a * a)) * poly(t, C::erfcx_p, C::erfcx_n);
      r = select(mid, T(1) - tail, r);
      r = select(one, set1(T(1)), r);
    }
    return copysign(r, x);
  }

  static reg log(reg x) {
    reg e;
    reg m = V::frexp(x, e);  // garbage for x <= 0, inf, NaN: replaced below
    const mask big = gt(m, set1(T(1.4142135623730951)));
    m = select(big, m * T(0.5), m);
    e = select(big, e + T(1), e);
    const reg f = m - T(1);
    const reg s = f / (T(2) + f);
    const reg z = s * s;
    const reg hfsq = T(0.5) * f * f;
    const reg rz = z * poly(z, C::log_p, C::log_n);
    reg r = fma(e, set1(C::ln2_hi), -((hfsq - fma(s, hfsq + rz, e * C::ln2_lo)) - f));
    constexpr T inf = std::numeric_limits<T>::infinity();
    r = select(eq(x, set1(inf)), x, r);
    r = select(eq(x, set1(T(0))), set1(-inf), r);
    r = select(lt(x, set1(T(0))), set1(std::numeric_limits<T>::quiet_NaN()), r);
    return select(isnan(x), x, r);
  }

  static reg log1p(reg x) {
    const reg u = x + T(1);
    reg r = log(u) * (x / (u - T(1)));
    r = select(eq(u, set1(T(1))), x, r);                               // tiny x (and -0): x itself
    return select(eq(u, set1(std::numeric_limits<T>::infinity())), u, r);  // inf / inf
  }
};

// vmath(Vfn, ...) on one vector interface M (VMath<V>, or Scalar<T> for the portable path).
template <class M>
void vmath_apply(Vfn f, typename M::T* y, const typename M::T* x, i64 n) {
  using reg = typename M::reg;
  switch (f) {
    case Vfn::exp: return map1<M>(y, x, n, [](reg v) { return M::exp(v); });
    case Vfn::tanh: return map1<M>(y, x, n, [](reg v) { return M::tanh(v); });
    case Vfn::sigmoid: return map1<M>(y, x, n, [](reg v) { return M::sigmoid(v); });
    case Vfn::erf: return map1<M>(y, x, n, [](reg v) { return M::erf(v); });
    case Vfn::log: return map1<M>(y, x, n, [](reg v) { return M::log(v); });
    case Vfn::log1p: return map1<M>(y, x, n, [](reg v) { return M::log1p(v); });
  }
}

}  // namespace
}  // namespace fastdl::cpu
