// Depthwise conv plane kernels and the direct few-channel kernels compiled
// for AVX2 + FMA (bodies: conv_depthwise_simd.h, conv_direct_simd.h).
#include <type_traits>

#include "conv_depthwise.h"
#include "conv_direct_simd.h"
#include "vec_avx2.h"

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

template <typename T>
DirectKernels<T> direct_kernels() {
  using V = std::conditional_t<std::is_same_v<T, float>, F32, F64>;
  return {direct_fwd<V>, direct_wgrad<V>, V::W};
}
template DirectKernels<float> direct_kernels<float>();
template DirectKernels<double> direct_kernels<double>();

}  // namespace fastdl::cpu::avx2
