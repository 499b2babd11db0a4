// AVX-512 GEMM micro-kernels: sgemm 12x32 and dgemm 12x16 (24 zmm
// accumulators). Chosen when the CPU has AVX-512 F/DQ/BW/VL (Zen 4/5,
// Skylake-X and later). Body in ukernel_simd.h; contract in gemm.h.
#include <immintrin.h>

#include "gemm.h"

namespace fastdl::cpu::avx512 {
namespace {

struct F32 {
  using T = float;
  using reg = __m512;
  using mask = __mmask16;
  static constexpr int W = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg set1(float x) { return _mm512_set1_ps(x); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg maskload(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static reg bcast(const float* p) { return _mm512_set1_ps(*p); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static void maskstore(float* p, mask m, reg v) { _mm512_mask_storeu_ps(p, m, v); }
  static mask mask_first(i64 n) {
    return n <= 0 ? mask(0) : n >= W ? mask(0xffff) : mask((1u << n) - 1);
  }
};

struct F64 {
  using T = double;
  using reg = __m512d;
  using mask = __mmask8;
  static constexpr int W = 8;
  static reg zero() { return _mm512_setzero_pd(); }
  static reg set1(double x) { return _mm512_set1_pd(x); }
  static reg load(const double* p) { return _mm512_loadu_pd(p); }
  static reg maskload(const double* p, mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static reg bcast(const double* p) { return _mm512_set1_pd(*p); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
  static reg mul(reg a, reg b) { return _mm512_mul_pd(a, b); }
  static void store(double* p, reg v) { _mm512_storeu_pd(p, v); }
  static void maskstore(double* p, mask m, reg v) { _mm512_mask_storeu_pd(p, m, v); }
  static mask mask_first(i64 n) {
    return n <= 0 ? mask(0) : n >= W ? mask(0xff) : mask((1u << n) - 1);
  }
};

#include "ukernel_simd.h"

}  // namespace

void sgemm_ukernel_12x32(i64 m, i64 n, i64 k, float alpha, const float* a, i64 rsa, i64 csa,
                         const float* b, i64 rsb, float beta, float* c, i64 rsc, i64 csc) {
  ukernel<F32, 12, 2>(m, n, k, alpha, a, rsa, csa, b, rsb, beta, c, rsc, csc);
}

void dgemm_ukernel_12x16(i64 m, i64 n, i64 k, double alpha, const double* a, i64 rsa, i64 csa,
                         const double* b, i64 rsb, double beta, double* c, i64 rsc, i64 csc) {
  ukernel<F64, 12, 2>(m, n, k, alpha, a, rsa, csa, b, rsb, beta, c, rsc, csc);
}

}  // namespace fastdl::cpu::avx512
