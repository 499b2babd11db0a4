// Winograd F(2x2, 3x3) and F(2x2, 2x2) tile transforms compiled for AVX512 (body: conv_winograd_simd.h).
#include <algorithm>

#include "conv_winograd.h"
#include "stream.h"

namespace fastdl::cpu::avx512 {
namespace {
#include "conv_winograd_simd.h"
}  // namespace

template <typename T>
WinoKernels<T> winograd_kernels() {
  return {wino_input<T, 3>, wino_output<T>, wino_input<T, 2>, wino_output2<T>, wino_grad<T>};
}
template WinoKernels<float> winograd_kernels<float>();
template WinoKernels<double> winograd_kernels<double>();

}  // namespace fastdl::cpu::avx512
