// optim family: the portable kernel variant and the per-call ISA choice.
// Kernel bodies: optim_kernels.h; contract: optim.h.
#include "optim.h"

#include <algorithm>
#include <cmath>

#include "../core/isa.h"
#include "../core/parallel.h"
#include "../core/scratch.h"

namespace fastdl::cpu {

namespace generic {
namespace {
#include "optim_kernels.h"
}  // namespace

template <typename T>
OptimKernels<T> optim_kernels() {
  return {sgd_step_impl<T>, rmsprop_step_impl<T>, adam_step_impl<T>, sum_squares_impl<T>,
          scale_inplace_impl<T>};
}
template OptimKernels<float> optim_kernels<float>();
template OptimKernels<double> optim_kernels<double>();
}  // namespace generic

namespace {

template <typename T>
OptimKernels<T> kernels() {
  switch (isa_active()) {
    case Isa::avx512:  // the AVX2 variant: see optim.h
    case Isa::avx2: return avx2::optim_kernels<T>();
    default: return generic::optim_kernels<T>();
  }
}

}  // namespace

template <typename T>
void sgd_step(T* const* params, T* const* momentum_buffer, const T* const* grads,
              const TensorList& list, const SgdParams& p) {
  kernels<T>().sgd(params, momentum_buffer, grads, list, p);
}

template <typename T>
void rmsprop_step(T* const* params, T* const* square_avg, const T* const* grads,
                  const TensorList& list, const RmspropParams& p) {
  kernels<T>().rmsprop(params, square_avg, grads, list, p);
}

template <typename T>
void adam_step(T* const* params, T* const* exp_avg, T* const* exp_avg_sq, const T* const* grads,
               const TensorList& list, const AdamParams& p) {
  kernels<T>().adam(params, exp_avg, exp_avg_sq, grads, list, p);
}

template <typename T>
double sum_squares(const T* const* x, const TensorList& list) {
  return kernels<T>().sum_squares(x, list);
}

template <typename T>
void scale_inplace(T* const* x, const TensorList& list, T scale) {
  kernels<T>().scale(x, list, scale);
}

#define FASTDL_INSTANTIATE(T)                                                                    \
  template void sgd_step<T>(T* const*, T* const*, const T* const*, const TensorList&,            \
                            const SgdParams&);                                                   \
  template void rmsprop_step<T>(T* const*, T* const*, const T* const*, const TensorList&,        \
                                const RmspropParams&);                                           \
  template void adam_step<T>(T* const*, T* const*, T* const*, const T* const*, const TensorList&, \
                             const AdamParams&);                                                 \
  template double sum_squares<T>(const T* const*, const TensorList&);                            \
  template void scale_inplace<T>(T* const*, const TensorList&, T);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
