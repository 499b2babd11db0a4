// norm family: the portable kernel variant and the per-call ISA choice.
// Kernel bodies: norm_kernels.h; contract: norm.h.
#include "norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/isa.h"
#include "../core/parallel.h"
#include "../core/scratch.h"
#include "reduce.h"
#include "stream.h"

namespace fastdl::cpu {

namespace generic {
namespace {
constexpr int kLaneBytes = 64;  // 4 SSE2 registers of partial sums
#include "norm_kernels.h"
}  // namespace

template <typename T>
NormKernels<T> norm_kernels() {
  return {row_norm_fwd_impl<T>, row_norm_bwd_impl<T>, batch_norm_fwd_impl<T>, batch_norm_bwd_impl<T>};
}
template NormKernels<float> norm_kernels<float>();
template NormKernels<double> norm_kernels<double>();
}  // namespace generic

namespace {

template <typename T>
NormKernels<T> kernels() {
  switch (isa_active()) {
    case Isa::avx512: return avx512::norm_kernels<T>();
    case Isa::avx2: return avx2::norm_kernels<T>();
    default: return generic::norm_kernels<T>();
  }
}

}  // namespace

template <typename T>
void row_norm_fwd(T* y, T* mean, T* rstd, const T* x, const T* gamma, const T* beta,
                  const RowNormParams& p) {
  kernels<T>().row_fwd(y, mean, rstd, x, gamma, beta, p);
}

template <typename T>
void row_norm_bwd(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                  const T* rstd, const T* gamma, const RowNormParams& p) {
  kernels<T>().row_bwd(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, p);
}

template <typename T>
void batch_norm_fwd(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x,
                    const T* gamma, const T* beta, const BatchNormParams& p) {
  kernels<T>().bn_fwd(y, mean, rstd, running_mean, running_var, x, gamma, beta, p);
}

template <typename T>
void batch_norm_bwd(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                    const T* rstd, const T* gamma, const BatchNormParams& p) {
  kernels<T>().bn_bwd(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, p);
}

#define FASTDL_INSTANTIATE(T)                                                                    \
  template void row_norm_fwd<T>(T*, T*, T*, const T*, const T*, const T*, const RowNormParams&); \
  template void row_norm_bwd<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,    \
                                const RowNormParams&);                                           \
  template void batch_norm_fwd<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*,              \
                                  const BatchNormParams&);                                       \
  template void batch_norm_bwd<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,  \
                                  const BatchNormParams&);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
