// Portable implementations of vmath.h (std:: functions, one element at a time).
#include "vmath.h"

#include <cmath>

namespace fastdl::cpu {

template <typename T>
void vexp(T* y, const T* x, i64 n) {
  for (i64 i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

template <typename T>
void vtanh(T* y, const T* x, i64 n) {
  for (i64 i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

template <typename T>
void vsigmoid(T* y, const T* x, i64 n) {
  for (i64 i = 0; i < n; ++i) y[i] = T(1) / (T(1) + std::exp(-x[i]));
}

#define FASTDL_INSTANTIATE(T)                     \
  template void vexp<T>(T*, const T*, i64);       \
  template void vtanh<T>(T*, const T*, i64);      \
  template void vsigmoid<T>(T*, const T*, i64);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
