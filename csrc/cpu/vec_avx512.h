// The vec.h interface on AVX-512 (F, DQ, BW, VL): 16 floats / 8 doubles per
// register, comparisons into k-masks, masked loads and stores for tails.
// Include only from *_avx512.cpp files (Note [ISA files]); math functions
// come from VMath<F32> / VMath<F64> in vmath_simd.h.
#pragma once

#include <immintrin.h>

#include "../core/common.h"

namespace fastdl::cpu::avx512 {
namespace {

constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
constexpr int kFloor = _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC;

struct F32 {
  using T = float;
  using reg = __m512;
  using mask = __mmask16;
  static constexpr int W = 16;

  static reg set1(T v) { return _mm512_set1_ps(v); }
  static reg load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, reg v) { _mm512_storeu_ps(p, v); }
  static mask first(i64 n) { return static_cast<mask>((1u << n) - 1); }
  static reg load_n(const T* p, i64 n, T fill) { return _mm512_mask_loadu_ps(set1(fill), first(n), p); }
  static void store_n(T* p, reg v, i64 n) { _mm512_mask_storeu_ps(p, first(n), v); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }
  static reg abs(reg a) { return _mm512_abs_ps(a); }
  static reg copysign(reg m, reg s) {
    const reg sign = set1(-0.0f);
    return _mm512_or_ps(_mm512_andnot_ps(sign, m), _mm512_and_ps(sign, s));
  }
  static mask lt(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static mask le(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
  static mask gt(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static mask ge(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static mask eq(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static mask isnan(reg a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static mask mand(mask a, mask b) { return a & b; }
  static mask mor(mask a, mask b) { return a | b; }
  static mask mnot(mask a) { return static_cast<mask>(~a); }
  static bool any(mask m) { return m != 0; }
  static int count(mask m) { return __builtin_popcount(m); }
  static reg select(mask m, reg a, reg b) { return _mm512_mask_blend_ps(m, b, a); }
  static reg round(reg a) { return _mm512_roundscale_ps(a, kRound); }
  static reg floor(reg a) { return _mm512_roundscale_ps(a, kFloor); }
  static reg ldexp(reg r, reg n) { return _mm512_scalef_ps(r, n); }
  static reg frexp(reg x, reg& e) {
    e = _mm512_getexp_ps(x);
    return _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
  }
  static T reduce_add(reg r) { return _mm512_reduce_add_ps(r); }
  static T reduce_max(reg r) { return _mm512_reduce_max_ps(r); }
};

struct F64 {
  using T = double;
  using reg = __m512d;
  using mask = __mmask8;
  static constexpr int W = 8;

  static reg set1(T v) { return _mm512_set1_pd(v); }
  static reg load(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, reg v) { _mm512_storeu_pd(p, v); }
  static mask first(i64 n) { return static_cast<mask>((1u << n) - 1); }
  static reg load_n(const T* p, i64 n, T fill) { return _mm512_mask_loadu_pd(set1(fill), first(n), p); }
  static void store_n(T* p, reg v, i64 n) { _mm512_mask_storeu_pd(p, first(n), v); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
  static reg max(reg a, reg b) { return _mm512_max_pd(a, b); }
  static reg min(reg a, reg b) { return _mm512_min_pd(a, b); }
  static reg abs(reg a) { return _mm512_abs_pd(a); }
  static reg copysign(reg m, reg s) {
    const reg sign = set1(-0.0);
    return _mm512_or_pd(_mm512_andnot_pd(sign, m), _mm512_and_pd(sign, s));
  }
  static mask lt(reg a, reg b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
  static mask le(reg a, reg b) { return _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ); }
  static mask gt(reg a, reg b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static mask ge(reg a, reg b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
  static mask eq(reg a, reg b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
  static mask isnan(reg a) { return _mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q); }
  static mask mand(mask a, mask b) { return a & b; }
  static mask mor(mask a, mask b) { return a | b; }
  static mask mnot(mask a) { return static_cast<mask>(~a); }
  static bool any(mask m) { return m != 0; }
  static int count(mask m) { return __builtin_popcount(m); }
  static reg select(mask m, reg a, reg b) { return _mm512_mask_blend_pd(m, b, a); }
  static reg round(reg a) { return _mm512_roundscale_pd(a, kRound); }
  static reg floor(reg a) { return _mm512_roundscale_pd(a, kFloor); }
  static reg ldexp(reg r, reg n) { return _mm512_scalef_pd(r, n); }
  static reg frexp(reg x, reg& e) {
    e = _mm512_getexp_pd(x);
    return _mm512_getmant_pd(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
  }
  static T reduce_add(reg r) { return _mm512_reduce_add_pd(r); }
  static T reduce_max(reg r) { return _mm512_reduce_max_pd(r); }
};

}  // namespace
}  // namespace fastdl::cpu::avx512
