// vmath.h on AVX2 + FMA: the polynomial approximations of vmath_simd.h
// (error bounds stated there) on vec_avx2.h registers.
#include "vec_avx2.h"
#include "vmath_simd.h"

namespace fastdl::cpu::avx2 {

template <typename T>
void vmath(Vfn f, T* y, const T* x, i64 n) {
  if constexpr (sizeof(T) == 4)
    vmath_apply<VMath<F32>>(f, y, x, n);
  else
    vmath_apply<VMath<F64>>(f, y, x, n);
}

template void vmath<float>(Vfn, float*, const float*, i64);
template void vmath<double>(Vfn, double*, const double*, i64);

}  // namespace fastdl::cpu::avx2
