// Portable GEMM micro-kernel, 4 x 8, float and double: the last entry of
// every ISA list and the oracle for the SIMD kernels' tests. Contract in gemm.h.
#include "gemm.h"

namespace fastdl::cpu::generic {

template <typename T>
void gemm_ukernel_4x8(i64 m, i64 n, i64 k, T alpha, const T* a, i64 rsa, i64 csa, const T* b,
                      i64 rsb, T beta, T* c, i64 rsc, i64 csc) {
  constexpr int MR = 4, NR = 8;
  T acc[MR][NR] = {};
  if (m == MR && n == NR) {
    // In the full tile the i and j loops have constant trip counts, so the
    // compiler keeps acc in registers and vectorises over j.
    for (i64 p = 0; p < k; ++p) {
      const T* bp = b + p * rsb;
      for (int i = 0; i < MR; ++i) {
        const T ai = a[i * rsa + p * csa];
        for (int j = 0; j < NR; ++j) acc[i][j] += ai * bp[j];
      }
    }
  } else {
    for (i64 p = 0; p < k; ++p) {
      const T* bp = b + p * rsb;
      for (i64 i = 0; i < m; ++i) {
        const T ai = a[i * rsa + p * csa];
        for (i64 j = 0; j < n; ++j) acc[i][j] += ai * bp[j];
      }
    }
  }
  for (i64 i = 0; i < m; ++i)
    for (i64 j = 0; j < n; ++j) {
      T* cij = c + i * rsc + j * csc;
      const T v = alpha * acc[i][j];
      *cij = beta == T(0) ? v : v + beta * *cij;
    }
}

template void gemm_ukernel_4x8<float>(i64, i64, i64, float, const float*, i64, i64, const float*,
                                      i64, float, float*, i64, i64);
template void gemm_ukernel_4x8<double>(i64, i64, i64, double, const double*, i64, i64,
                                       const double*, i64, double, double*, i64, i64);

}  // namespace fastdl::cpu::generic
