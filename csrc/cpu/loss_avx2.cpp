// loss kernels on AVX2 + FMA: loss_simd.h on VMath<vec_avx2.h> registers.
#include "loss_simd.h"
#include "vec_avx2.h"
#include "vmath_simd.h"

namespace fastdl::cpu::avx2 {
FASTDL_LOSS_DEFINE(VMath<F32>, VMath<F64>)
}  // namespace fastdl::cpu::avx2
