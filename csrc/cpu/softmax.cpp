// softmax family entries (see softmax.h): ISA choice and thread split; the
// portable (Scalar<T>) kernels are defined here.
#include "softmax.h"

#include "../core/isa.h"
#include "../core/parallel.h"
#include "softmax_simd.h"

namespace fastdl::cpu {

namespace generic {
FASTDL_SOFTMAX_DEFINE(Scalar<float>, Scalar<double>)
}  // namespace generic

namespace {

constexpr i64 kGrain = 1 << 14;  // values per thread at least
constexpr i64 kStrip = 64;       // columns per task when inner > 1 (a multiple of every vector width)

template <typename T>
struct SoftmaxIsa {
  void (*fwd_rows)(T*, const T*, i64, i64, i64, bool, bool);
  void (*fwd_cols)(T*, const T*, i64, i64, i64, i64, i64, bool);
  void (*bwd_rows)(T*, const T*, const T*, i64, i64, i64, bool, bool);
  void (*bwd_cols)(T*, const T*, const T*, i64, i64, i64, i64, i64, bool);
};

template <typename T>
SoftmaxIsa<T> softmax_isa() {
  switch (isa_active()) {
    case Isa::avx512:
      return {avx512::softmax_fwd_rows<T>, avx512::softmax_fwd_cols<T>, avx512::softmax_bwd_rows<T>,
              avx512::softmax_bwd_cols<T>};
    case Isa::avx2:
      return {avx2::softmax_fwd_rows<T>, avx2::softmax_fwd_cols<T>, avx2::softmax_bwd_rows<T>,
              avx2::softmax_bwd_cols<T>};
    default:
      return {generic::softmax_fwd_rows<T>, generic::softmax_fwd_cols<T>, generic::softmax_bwd_rows<T>,
              generic::softmax_bwd_cols<T>};
  }
}

// rows(r0, r1) over outer rows when inner == 1; else cols(o, j0, j1) over
// (slab, strip of kStrip columns) tasks.
template <typename R, typename C>
void split(i64 outer, i64 c, i64 inner, const R& rows, const C& cols) {
  if (c == 0) return;
  if (inner == 1) {
    parallel_for(outer, ceil_div(kGrain, c), rows);
    return;
  }
  const i64 strips = ceil_div(inner, kStrip);
  parallel_for(outer * strips, ceil_div(kGrain, c * kStrip), [&](i64 t0, i64 t1) {
    for (i64 t = t0; t < t1; ++t) {
      const i64 o = t / strips, j0 = (t % strips) * kStrip;
      cols(o, j0, j0 + kStrip < inner ? j0 + kStrip : inner);
    }
  });
}

}  // namespace

template <typename T>
void softmax_fwd(T* y, const T* x, i64 outer, i64 c, i64 inner, bool log) {
  const SoftmaxIsa<T> k = softmax_isa<T>();
  const bool stream = stream_output<T>(outer * c);  // rows only (inner == 1)
  split(
      outer, c, inner, [&](i64 r0, i64 r1) { k.fwd_rows(y, x, r0, r1, c, log, stream); },
      [&](i64 o, i64 j0, i64 j1) { k.fwd_cols(y, x, o, j0, j1, c, inner, log); });
}

template <typename T>
void softmax_bwd(T* dx, const T* y, const T* dy, i64 outer, i64 c, i64 inner, bool log) {
  const SoftmaxIsa<T> k = softmax_isa<T>();
  const bool stream = stream_output<T>(outer * c);
  split(
      outer, c, inner, [&](i64 r0, i64 r1) { k.bwd_rows(dx, y, dy, r0, r1, c, log, stream); },
      [&](i64 o, i64 j0, i64 j1) { k.bwd_cols(dx, y, dy, o, j0, j1, c, inner, log); });
}

template void softmax_fwd<float>(float*, const float*, i64, i64, i64, bool);
template void softmax_fwd<double>(double*, const double*, i64, i64, i64, bool);
template void softmax_bwd<float>(float*, const float*, const float*, i64, i64, i64, bool);
template void softmax_bwd<double>(double*, const double*, const double*, i64, i64, i64, bool);

}  // namespace fastdl::cpu
