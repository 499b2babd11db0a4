// FMA throughput probe for AVX2 (see peak.h). 12 chains hide a 4-5 cycle
// FMA latency on two pipes.
#include <immintrin.h>

#include "peak.h"

namespace fastdl::avx2 {

double fma_flops(bool f64, i64 iters) {
  if (f64) {
    __m256d acc[12], x = _mm256_set1_pd(1.0000001), y = _mm256_set1_pd(0.9999999);
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_pd(i);
    for (i64 it = 0; it < iters; ++it)
#pragma GCC unroll 12
      for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_pd(acc[i], x, y);
    volatile double sink = 0;
    for (int i = 0; i < 12; ++i) sink = sink + _mm256_cvtsd_f64(acc[i]);
    return 2.0 * 4 * 12 * iters;
  }
  __m256 acc[12], x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(0.9999999f);
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(i);
  for (i64 it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  volatile float sink = 0;
  for (int i = 0; i < 12; ++i) sink = sink + _mm256_cvtss_f32(acc[i]);
  return 2.0 * 8 * 12 * iters;
}

}  // namespace fastdl::avx2
