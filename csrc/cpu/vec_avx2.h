// The vec.h interface on AVX2 + FMA: 8 floats / 4 doubles per register;
// masks are registers of all-ones / all-zeros lanes; tails use maskload /
// maskstore (masked-off lanes are never touched, so no fault past the end).
// Include only from *_avx2.cpp files (Note [ISA files]); math functions come
// from VMath<F32> / VMath<F64> in vmath_simd.h.
#pragma once

#include <immintrin.h>

#include "../core/common.h"

namespace fastdl::cpu::avx2 {
namespace {

constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
constexpr int kFloor = _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC;

struct F32 {
  using T = float;
  using reg = __m256;
  using mask = __m256;
  static constexpr int W = 8;

  static reg set1(T v) { return _mm256_set1_ps(v); }
  static reg load(const T* p) { return _mm256_loadu_ps(p); }
  static void store(T* p, reg v) { _mm256_storeu_ps(p, v); }
  static __m256i first(i64 n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static reg load_n(const T* p, i64 n, T fill) {
    const __m256i m = first(n);
    return _mm256_blendv_ps(set1(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static void store_n(T* p, reg v, i64 n) { _mm256_maskstore_ps(p, first(n), v); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
  static reg abs(reg a) { return _mm256_andnot_ps(set1(-0.0f), a); }
  static reg copysign(reg m, reg s) {
    const reg sign = set1(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(sign, m), _mm256_and_ps(sign, s));
  }
  static mask lt(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static mask le(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
  static mask gt(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static mask ge(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static mask eq(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static mask isnan(reg a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static mask mand(mask a, mask b) { return _mm256_and_ps(a, b); }
  static mask mor(mask a, mask b) { return _mm256_or_ps(a, b); }
  static mask mnot(mask a) { return _mm256_xor_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(-1))); }
  static bool any(mask m) { return _mm256_movemask_ps(m) != 0; }
  static int count(mask m) { return __builtin_popcount(static_cast<unsigned>(_mm256_movemask_ps(m))); }
  static reg select(mask m, reg a, reg b) { return _mm256_blendv_ps(b, a, m); }
  static reg round(reg a) { return _mm256_round_ps(a, kRound); }
  static reg floor(reg a) { return _mm256_round_ps(a, kFloor); }
  static reg pow2i(reg k) {  // 2^k for integer k in [-126, 127]: (k + 127) into the exponent field
    const reg t = _mm256_add_ps(k, set1(8388608.0f + 127.0f));  // 2^23 + 127: k + 127 in the low bits
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23));
  }
  static reg ldexp(reg r, reg n) {  // two factors 2^h 2^(n-h), each a normal number
    const reg h = floor(n * 0.5f);
    return r * pow2i(h) * pow2i(n - h);
  }
  static reg frexp(reg x, reg& e) {
    const mask sub = lt(x, set1(1.17549435e-38f));  // subnormal: scale by 2^24 first
    x = select(sub, x * 16777216.0f, x);
    const __m256i bits = _mm256_castps_si256(x);
    const __m256i ebits = _mm256_and_si256(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(0xff));
    e = _mm256_cvtepi32_ps(ebits) - select(sub, set1(127.0f + 24.0f), set1(127.0f));
    const __m256i mbits = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                          _mm256_set1_epi32(0x3f800000));
    return _mm256_castsi256_ps(mbits);
  }
  static T reduce_add(reg r) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static T reduce_max(reg r) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

struct F64 {
  using T = double;
  using reg = __m256d;
  using mask = __m256d;
  static constexpr int W = 4;

  static reg set1(T v) { return _mm256_set1_pd(v); }
  static reg load(const T* p) { return _mm256_loadu_pd(p); }
  static void store(T* p, reg v) { _mm256_storeu_pd(p, v); }
  static __m256i first(i64 n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static reg load_n(const T* p, i64 n, T fill) {
    const __m256i m = first(n);
    return _mm256_blendv_pd(set1(fill), _mm256_maskload_pd(p, m), _mm256_castsi256_pd(m));
  }
  static void store_n(T* p, reg v, i64 n) { _mm256_maskstore_pd(p, first(n), v); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
  static reg max(reg a, reg b) { return _mm256_max_pd(a, b); }
  static reg min(reg a, reg b) { return _mm256_min_pd(a, b); }
  static reg abs(reg a) { return _mm256_andnot_pd(set1(-0.0), a); }
  static reg copysign(reg m, reg s) {
    const reg sign = set1(-0.0);
    return _mm256_or_pd(_mm256_andnot_pd(sign, m), _mm256_and_pd(sign, s));
  }
  static mask lt(reg a, reg b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
  static mask le(reg a, reg b) { return _mm256_cmp_pd(a, b, _CMP_LE_OQ); }
  static mask gt(reg a, reg b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
  static mask ge(reg a, reg b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }
  static mask eq(reg a, reg b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
  static mask isnan(reg a) { return _mm256_cmp_pd(a, a, _CMP_UNORD_Q); }
  static mask mand(mask a, mask b) { return _mm256_and_pd(a, b); }
  static mask mor(mask a, mask b) { return _mm256_or_pd(a, b); }
  static mask mnot(mask a) { return _mm256_xor_pd(a, _mm256_castsi256_pd(_mm256_set1_epi64x(-1))); }
  static bool any(mask m) { return _mm256_movemask_pd(m) != 0; }
  static int count(mask m) { return __builtin_popcount(static_cast<unsigned>(_mm256_movemask_pd(m))); }
  static reg select(mask m, reg a, reg b) { return _mm256_blendv_pd(b, a, m); }
  static reg round(reg a) { return _mm256_round_pd(a, kRound); }
  static reg floor(reg a) { return _mm256_round_pd(a, kFloor); }
  static reg pow2i(reg k) {  // 2^k for integer k in [-1022, 1023]: (k + 1023) into the exponent field
    const reg t = _mm256_add_pd(k, set1(4503599627370496.0 + 1023.0));  // 2^52 + 1023
    return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(t), 52));
  }
  static reg ldexp(reg r, reg n) {  // two factors 2^h 2^(n-h), each a normal number
    const reg h = floor(n * 0.5);
    return r * pow2i(h) * pow2i(n - h);
  }
  static reg frexp(reg x, reg& e) {
    const mask sub = lt(x, set1(2.2250738585072014e-308));  // subnormal: scale by 2^54 first
    x = select(sub, x * 18014398509481984.0, x);
    const __m256i bits = _mm256_castpd_si256(x);
    // The 11 exponent bits as a double: OR them into the mantissa of 2^52, subtract 2^52.
    const __m256i ebits = _mm256_and_si256(_mm256_srli_epi64(bits, 52), _mm256_set1_epi64x(0x7ff));
    const reg ed = _mm256_castsi256_pd(_mm256_or_si256(ebits, _mm256_set1_epi64x(0x4330000000000000LL)));
    e = (ed - 4503599627370496.0) - select(sub, set1(1023.0 + 54.0), set1(1023.0));
    const __m256i mbits = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi64x(0x000fffffffffffffLL)),
                                          _mm256_set1_epi64x(0x3ff0000000000000LL));
    return _mm256_castsi256_pd(mbits);
  }
  static T reduce_add(reg r) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(r), _mm256_extractf128_pd(r, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
  static T reduce_max(reg r) {
    __m128d s = _mm_max_pd(_mm256_castpd256_pd128(r), _mm256_extractf128_pd(r, 1));
    s = _mm_max_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
};

}  // namespace
}  // namespace fastdl::cpu::avx2
