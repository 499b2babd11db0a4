// FMA throughput probe for AVX-512 (see peak.h).
#include <immintrin.h>

#include "peak.h"

namespace fastdl::avx512 {

double fma_flops(bool f64, i64 iters) {
  if (f64) {
    __m512d acc[24], x = _mm512_set1_pd(1.0000001), y = _mm512_set1_pd(0.9999999);
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_pd(i);
    for (i64 it = 0; it < iters; ++it)
#pragma GCC unroll 24
      for (int i = 0; i < 24; ++i) acc[i] = _mm512_fmadd_pd(acc[i], x, y);
    volatile double sink = 0;
    for (int i = 0; i < 24; ++i) sink = sink + _mm512_reduce_add_pd(acc[i]);
    return 2.0 * 8 * 24 * iters;
  }
  __m512 acc[24], x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(i);
  for (i64 it = 0; it < iters; ++it)
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  volatile float sink = 0;
  for (int i = 0; i < 24; ++i) sink = sink + _mm512_reduce_add_ps(acc[i]);
  return 2.0 * 16 * 24 * iters;
}

}  // namespace fastdl::avx512
