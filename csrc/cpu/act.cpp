// act family entries (see act.h): ISA choice, thread split, prelu's
// reduction; the portable (Scalar<T>) kernels are defined here.
#include "act.h"

#include <omp.h>

#include "../core/isa.h"
#include "../core/parallel.h"
#include "../core/scratch.h"
#include "act_simd.h"
#include "reduce.h"

namespace fastdl::cpu {

namespace generic {
FASTDL_ACT_DEFINE(Scalar<float>, Scalar<double>)
}  // namespace generic

namespace {

constexpr i64 kBlock = 64;       // thread chunks are whole 64-element blocks (whole cache lines, float or double)
constexpr i64 kGrain = 1 << 14;  // elements per thread at least: below this, one thread

// The calls of one ISA, picked once per entry call.
template <typename T>
struct ActIsa {
  void (*fwd)(T*, const T*, i64, Act, T);
  void (*bwd)(T*, const T*, const T*, i64, Act, T);
  void (*prelu_fwd)(T*, const T*, const T*, i64, i64, i64, i64);
  void (*prelu_bwd)(T*, T*, const T*, const T*, const T*, i64, i64, i64, i64);
  void (*maxout_fwd)(T*, const T*, i64, i64, i64, i64);
  void (*maxout_bwd)(T*, const T*, const T*, i64, i64, i64, i64);
};

template <typename T>
ActIsa<T> act_isa() {
  switch (isa_active()) {
    case Isa::avx512:
      return {avx512::act_fwd_range<T>,  avx512::act_bwd_range<T>,   avx512::prelu_fwd_rows<T>,
              avx512::prelu_bwd_rows<T>, avx512::maxout_fwd_rows<T>, avx512::maxout_bwd_rows<T>};
    case Isa::avx2:
      return {avx2::act_fwd_range<T>,  avx2::act_bwd_range<T>,   avx2::prelu_fwd_rows<T>,
              avx2::prelu_bwd_rows<T>, avx2::maxout_fwd_rows<T>, avx2::maxout_bwd_rows<T>};
    default:
      return {generic::act_fwd_range<T>,  generic::act_bwd_range<T>,   generic::prelu_fwd_rows<T>,
              generic::prelu_bwd_rows<T>, generic::maxout_fwd_rows<T>, generic::maxout_bwd_rows<T>};
  }
}

// f(begin, end) over [0, n) in whole blocks per thread.
template <typename F>
void split_elements(i64 n, const F& f) {
  parallel_for(ceil_div(n, kBlock), kGrain / kBlock, [&](i64 b0, i64 b1) {
    f(b0 * kBlock, b1 * kBlock < n ? b1 * kBlock : n);
  });
}

}  // namespace

template <typename T>
void act_fwd(T* y, const T* x, i64 n, Act op, T alpha) {
  const auto fwd = act_isa<T>().fwd;
  split_elements(n, [&](i64 i0, i64 i1) { fwd(y + i0, x + i0, i1 - i0, op, alpha); });
}

template <typename T>
void act_bwd(T* dx, const T* a, const T* dy, i64 n, Act op, T alpha) {
  const auto bwd = act_isa<T>().bwd;
  split_elements(n, [&](i64 i0, i64 i1) { bwd(dx + i0, a + i0, dy + i0, i1 - i0, op, alpha); });
}

template <typename T>
void prelu_fwd(T* y, const T* x, const T* alpha, i64 n, i64 c, i64 s) {
  const auto rows = act_isa<T>().prelu_fwd;
  const i64 nrows = s == 1 ? n : n * c, len = s == 1 ? c : s;
  parallel_for(nrows, ceil_div(kGrain, len > 0 ? len : 1), [&](i64 r0, i64 r1) { rows(y, x, alpha, r0, r1, c, s); });
}

template <typename T>
void prelu_bwd(T* dx, T* dalpha, const T* dy, const T* x, const T* alpha, i64 n, i64 c, i64 s) {
  const auto rows = act_isa<T>().prelu_bwd;
  const i64 nrows = s == 1 ? n : n * c, len = s == 1 ? c : s;
  T* part = scratch<T>(checked_mul(n, c) + 1, 0);  // (n, c): per-row sums, then summed over n in order
  parallel_for(nrows, ceil_div(kGrain, len > 0 ? len : 1), [&](i64 r0, i64 r1) {
    rows(dx, part, dy, x, alpha, r0, r1, c, s);
  });
  sum_rows(dalpha, part, n, c, c);
}

template <typename T>
void maxout_fwd(T* y, const T* z, i64 n, i64 pieces, i64 m) {
  const auto rows = act_isa<T>().maxout_fwd;
  parallel_for(n, ceil_div(kGrain, pieces * m + 1), [&](i64 r0, i64 r1) { rows(y, z, r0, r1, pieces, m); });
}

template <typename T>
void maxout_bwd(T* dz, const T* dy, const T* z, i64 n, i64 pieces, i64 m) {
  const auto rows = act_isa<T>().maxout_bwd;
  parallel_for(n, ceil_div(kGrain, pieces * m + 1), [&](i64 r0, i64 r1) { rows(dz, dy, z, r0, r1, pieces, m); });
}

#define FASTDL_INSTANTIATE(T)                                                              \
  template void act_fwd<T>(T*, const T*, i64, Act, T);                                     \
  template void act_bwd<T>(T*, const T*, const T*, i64, Act, T);                           \
  template void prelu_fwd<T>(T*, const T*, const T*, i64, i64, i64);                       \
  template void prelu_bwd<T>(T*, T*, const T*, const T*, const T*, i64, i64, i64);         \
  template void maxout_fwd<T>(T*, const T*, i64, i64, i64);                                \
  template void maxout_bwd<T>(T*, const T*, const T*, i64, i64, i64);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
