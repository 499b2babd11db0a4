// AVX2 + FMA GEMM micro-kernels: sgemm 6x16 and dgemm 6x8, the Haswell
// shapes that BLIS also runs on Zen. Body in ukernel_simd.h; contract in gemm.h.
#include <immintrin.h>

#include "gemm.h"

namespace fastdl::cpu::avx2 {
namespace {

struct F32 {
  using T = float;
  using reg = __m256;
  using mask = __m256i;
  static constexpr int W = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg set1(float x) { return _mm256_set1_ps(x); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static reg maskload(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  static reg bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static void maskstore(float* p, mask m, reg v) { _mm256_maskstore_ps(p, m, v); }
  static mask mask_first(i64 n) {  // lanes [0, n) set
    const int c = n < 0 ? 0 : n > W ? W : static_cast<int>(n);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
};

struct F64 {
  using T = double;
  using reg = __m256d;
  using mask = __m256i;
  static constexpr int W = 4;
  static reg zero() { return _mm256_setzero_pd(); }
  static reg set1(double x) { return _mm256_set1_pd(x); }
  static reg load(const double* p) { return _mm256_loadu_pd(p); }
  static reg maskload(const double* p, mask m) { return _mm256_maskload_pd(p, m); }
  static reg bcast(const double* p) { return _mm256_broadcast_sd(p); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
  static reg mul(reg a, reg b) { return _mm256_mul_pd(a, b); }
  static void store(double* p, reg v) { _mm256_storeu_pd(p, v); }
  static void maskstore(double* p, mask m, reg v) { _mm256_maskstore_pd(p, m, v); }
  static mask mask_first(i64 n) {
    const long long c = n < 0 ? 0 : n > W ? W : n;
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(c), _mm256_setr_epi64x(0, 1, 2, 3));
  }
};

#include "ukernel_simd.h"

}  // namespace

void sgemm_ukernel_6x16(i64 m, i64 n, i64 k, float alpha, const float* a, i64 rsa, i64 csa,
                        const float* b, i64 rsb, float beta, float* c, i64 rsc, i64 csc) {
  ukernel<F32, 6, 2>(m, n, k, alpha, a, rsa, csa, b, rsb, beta, c, rsc, csc);
}

void dgemm_ukernel_6x8(i64 m, i64 n, i64 k, double alpha, const double* a, i64 rsa, i64 csa,
                       const double* b, i64 rsb, double beta, double* c, i64 rsc, i64 csc) {
  ukernel<F64, 6, 2>(m, n, k, alpha, a, rsa, csa, b, rsb, beta, c, rsc, csc);
}

}  // namespace fastdl::cpu::avx2
