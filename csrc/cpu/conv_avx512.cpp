// Depthwise conv plane kernels compiled for AVX-512 (body: conv_depthwise_simd.h).
#include "conv_depthwise.h"

namespace fastdl::cpu::avx512 {
namespace {
constexpr int kVecBytes = 64;
#include "conv_depthwise_simd.h"
}  // namespace

template <typename T>
DwKernels<T> depthwise_kernels() {
  return {dw_pad<T>, dw_fwd_dispatch<T>, dw_wgrad_dispatch<T>, dw_sum<T>};
}
template DwKernels<float> depthwise_kernels<float>();
template DwKernels<double> depthwise_kernels<double>();

}  // namespace fastdl::cpu::avx512
