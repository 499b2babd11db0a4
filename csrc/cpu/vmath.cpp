// vmath.h entry points: ISA dispatch, and the portable (std::) variant.
#include "vmath.h"

#include "vec.h"
#include "vmath_simd.h"

namespace fastdl::cpu {

namespace generic {
template <typename T>
void vmath(Vfn f, T* y, const T* x, i64 n) {
  vmath_apply<Scalar<T>>(f, y, x, n);
}
}  // namespace generic

template <typename T>
void vmath(Isa isa, Vfn f, T* y, const T* x, i64 n) {
  switch (isa) {
    case Isa::avx512: return avx512::vmath<T>(f, y, x, n);
    case Isa::avx2: return avx2::vmath<T>(f, y, x, n);
    default: return generic::vmath<T>(f, y, x, n);
  }
}

template <typename T>
void vexp(T* y, const T* x, i64 n) { vmath<T>(isa_active(), Vfn::exp, y, x, n); }
template <typename T>
void vtanh(T* y, const T* x, i64 n) { vmath<T>(isa_active(), Vfn::tanh, y, x, n); }
template <typename T>
void vsigmoid(T* y, const T* x, i64 n) { vmath<T>(isa_active(), Vfn::sigmoid, y, x, n); }
template <typename T>
void verf(T* y, const T* x, i64 n) { vmath<T>(isa_active(), Vfn::erf, y, x, n); }
template <typename T>
void vlog(T* y, const T* x, i64 n) { vmath<T>(isa_active(), Vfn::log, y, x, n); }
template <typename T>
void vlog1p(T* y, const T* x, i64 n) { vmath<T>(isa_active(), Vfn::log1p, y, x, n); }

#define FASTDL_INSTANTIATE(T)                                   \
  template void generic::vmath<T>(Vfn, T*, const T*, i64);      \
  template void vmath<T>(Isa, Vfn, T*, const T*, i64);          \
  template void vexp<T>(T*, const T*, i64);                     \
  template void vtanh<T>(T*, const T*, i64);                    \
  template void vsigmoid<T>(T*, const T*, i64);                 \
  template void verf<T>(T*, const T*, i64);                     \
  template void vlog<T>(T*, const T*, i64);                     \
  template void vlog1p<T>(T*, const T*, i64);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
