// optim family, avx2 variant: the bodies of optim_kernels.h compiled with avx2
// flags (see Note [ISA files] in core/isa.h); chosen by optim.cpp.
#include <algorithm>
#include <cmath>

#include "../core/parallel.h"
#include "../core/scratch.h"
#include "optim.h"

namespace fastdl::cpu::avx2 {
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

}  // namespace fastdl::cpu::avx2
