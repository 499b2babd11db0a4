// act kernels on AVX2 + FMA: act_simd.h on VMath<vec_avx2.h> registers.
#include "act_simd.h"
#include "vec_avx2.h"
#include "vmath_simd.h"

namespace fastdl::cpu::avx2 {
FASTDL_ACT_DEFINE(VMath<F32>, VMath<F64>)
}  // namespace fastdl::cpu::avx2
