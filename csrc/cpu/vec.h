// The vector interface that pointwise kernels (vmath, act, softmax, loss) are
// written against, and its portable one-lane implementation.
//
// A kernel is a template on V, a struct of static functions over `reg` (W
// lanes of T). It is compiled once per ISA: with Scalar<T> here (portable,
// baseline flags), and with the structs of vec_avx2.h / vec_avx512.h inside
// the matching *_avx2.cpp / *_avx512.cpp files (Note [ISA files]). GCC's vector
// extensions give the SIMD registers + - * / and scalar broadcasting
// (`T(1) - y`), so arithmetic reads the same for every V; everything else goes
// through these functions:
//
//   T, reg, mask, W            lane type, register, comparison result, lane count
//   set1(v)                    all lanes v
//   load(p), store(p, r)       W lanes at p (unaligned)
//   load_n(p, n, fill)         lanes 0..n-1 from p, the others `fill` (0 < n <= W; never reads p[n..])
//   store_n(p, r, n)           lanes 0..n-1 to p (0 < n <= W; never writes p[n..])
//   fma(a, b, c)               a * b + c (one rounding where the ISA has FMA)
//   max(a, b), min(a, b)       x86 semantics: b when either is NaN (so max(0, x) keeps a NaN x)
//   abs(a), copysign(m, s)     |a|; |m| with the sign bit of s (-0 and NaN signs kept)
//   lt le gt ge eq (a, b)      ordered comparisons (false with NaN); isnan(a)
//   mand mor mnot, any, count  mask logic; any lane set; number of lanes set
//   select(m, a, b)            m ? a : b per lane
//   round(a), floor(a)         to nearest even / down, as T
//   ldexp(r, n)                r * 2^n for integer-valued n, |n| <= 2 * max exponent + 25 (one
//                              rounding: subnormal results and overflow to inf come out right)
//   frexp(x, e)                x = m * 2^e, m in [1, 2), for finite x > 0 (subnormals too)
//   reduce_add(r), reduce_max  across lanes, in a fixed order
//   exp tanh sigmoid erf log log1p   elementwise math (VMath<V> in vmath_simd.h for SIMD V)
//
// Lanes never interact except in reduce_*: a value's result does not depend
// on its lane or on whether it was computed by load or load_n, which keeps
// chunked (threaded) loops bit-identical to unchunked ones.
#pragma once

#include <cmath>

#include "../core/common.h"

namespace fastdl::cpu {
namespace {  // internal linkage: see Note [ISA files]

// One lane, std:: math: the portable path, always the last in a dispatch list.
template <typename T_>
struct Scalar {
  using T = T_;
  using reg = T;
  using mask = bool;
  static constexpr int W = 1;

  static reg set1(T v) { return v; }
  static reg load(const T* p) { return *p; }
  static void store(T* p, reg v) { *p = v; }
  static reg load_n(const T* p, i64 n, T fill) { return n > 0 ? *p : fill; }
  static void store_n(T* p, reg v, i64 n) {
    if (n > 0) *p = v;
  }
  static reg fma(reg a, reg b, reg c) { return a * b + c; }
  static reg max(reg a, reg b) { return a > b ? a : b; }
  static reg min(reg a, reg b) { return a < b ? a : b; }
  static reg abs(reg a) { return std::fabs(a); }
  static reg copysign(reg m, reg s) { return std::copysign(m, s); }
  static mask lt(reg a, reg b) { return a < b; }
  static mask le(reg a, reg b) { return a <= b; }
  static mask gt(reg a, reg b) { return a > b; }
  static mask ge(reg a, reg b) { return a >= b; }
  static mask eq(reg a, reg b) { return a == b; }
  static mask isnan(reg a) { return a != a; }
  static mask mand(mask a, mask b) { return a && b; }
  static mask mor(mask a, mask b) { return a || b; }
  static mask mnot(mask a) { return !a; }
  static bool any(mask m) { return m; }
  static int count(mask m) { return m ? 1 : 0; }
  static reg select(mask m, reg a, reg b) { return m ? a : b; }
  static reg round(reg a) { return std::nearbyint(a); }
  static reg floor(reg a) { return std::floor(a); }
  static reg ldexp(reg r, reg n) { return std::ldexp(r, static_cast<int>(n)); }
  static reg frexp(reg x, reg& e) {
    int ei;
    const T m = std::frexp(x, &ei);  // [0.5, 1)
    e = T(ei - 1);
    return 2 * m;
  }
  static T reduce_add(reg r) { return r; }
  static T reduce_max(reg r) { return r; }

  static reg exp(reg x) { return std::exp(x); }
  static reg tanh(reg x) { return std::tanh(x); }
  static reg sigmoid(reg x) {  // e / (1 + e) with e = exp(-|x|): no overflow, subnormal results kept
    const T e = std::exp(-std::fabs(x));
    return (x >= 0 ? T(1) : e) / (T(1) + e);
  }
  static reg erf(reg x) { return std::erf(x); }
  static reg log(reg x) { return std::log(x); }
  static reg log1p(reg x) { return std::log1p(x); }
};

// y[i] = f(x[i]) for 0 <= i < n. The tail goes through the same f on a
// partial register, so every element gets bit-identical arithmetic.
template <class V, class F>
inline void map1(typename V::T* y, const typename V::T* x, i64 n, const F& f) {
  i64 i = 0;
  for (; i + V::W <= n; i += V::W) V::store(y + i, f(V::load(x + i)));
  if (i < n) V::store_n(y + i, f(V::load_n(x + i, n - i, typename V::T(0))), n - i);
}

// y[i] = f(a[i], b[i]).
template <class V, class F>
inline void map2(typename V::T* y, const typename V::T* a, const typename V::T* b, i64 n, const F& f) {
  using T = typename V::T;
  i64 i = 0;
  for (; i + V::W <= n; i += V::W) V::store(y + i, f(V::load(a + i), V::load(b + i)));
  if (i < n) V::store_n(y + i, f(V::load_n(a + i, n - i, T(0)), V::load_n(b + i, n - i, T(0))), n - i);
}

// f(offset, width) over [0, n) in steps of V::W; the last step may be partial.
template <class V, class F>
inline void for_vectors(i64 n, const F& f) {
  i64 j = 0;
  for (; j + V::W <= n; j += V::W) f(j, i64{V::W});
  if (j < n) f(j, n - j);
}

// Load / store the w lanes of one for_vectors step (full register or partial).
template <class V>
inline typename V::reg load_w(const typename V::T* p, i64 w, typename V::T fill) {
  return w == V::W ? V::load(p) : V::load_n(p, w, fill);
}

template <class V>
inline void store_w(typename V::T* p, typename V::reg v, i64 w) {
  if (w == V::W)
    V::store(p, v);
  else
    V::store_n(p, v, w);
}

}  // namespace
}  // namespace fastdl::cpu
