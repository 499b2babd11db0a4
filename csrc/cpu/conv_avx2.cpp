// Depthwise conv plane kernels compiled for AVX2 + FMA (body: conv_depthwise_simd.h).
#include "conv_depthwise.h"

namespace fastdl::cpu::avx2 {
namespace {
constexpr int kVecBytes = 32;
#include "conv_depthwise_simd.h"
}  // namespace

template <typename T>
DwKernels<T> depthwise_kernels() {
  return {dw_pad<T>, dw_fwd_dispatch<T>, dw_wgrad_dispatch<T>, dw_sum<T>};
}
template DwKernels<float> depthwise_kernels<float>();
template DwKernels<double> depthwise_kernels<double>();

}  // namespace fastdl::cpu::avx2
