// act kernels on AVX-512: act_simd.h on VMath<vec_avx512.h> registers.
#include "act_simd.h"
#include "vec_avx512.h"
#include "vmath_simd.h"

namespace fastdl::cpu::avx512 {
FASTDL_ACT_DEFINE(VMath<F32>, VMath<F64>)
}  // namespace fastdl::cpu::avx512
