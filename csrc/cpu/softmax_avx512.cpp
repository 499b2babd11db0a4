// softmax kernels on AVX-512: softmax_simd.h on VMath<vec_avx512.h> registers.
#include "softmax_simd.h"
#include "vec_avx512.h"
#include "vmath_simd.h"

namespace fastdl::cpu::avx512 {
FASTDL_SOFTMAX_DEFINE(VMath<F32>, VMath<F64>)
}  // namespace fastdl::cpu::avx512
