// norm family, avx512 variant: the bodies of norm_kernels.h compiled with avx512
// flags (see Note [ISA files] in core/isa.h); chosen by norm.cpp.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/parallel.h"
#include "../core/scratch.h"
#include "norm.h"
#include "reduce.h"
#include "stream.h"

namespace fastdl::cpu::avx512 {
namespace {
constexpr int kLaneBytes = 256;  // 4 AVX-512 registers of partial sums
#include "norm_kernels.h"
}  // namespace

template <typename T>
NormKernels<T> norm_kernels() {
  return {row_norm_fwd_impl<T>, row_norm_bwd_impl<T>, batch_norm_fwd_impl<T>, batch_norm_bwd_impl<T>};
}
template NormKernels<float> norm_kernels<float>();
template NormKernels<double> norm_kernels<double>();

}  // namespace fastdl::cpu::avx512
