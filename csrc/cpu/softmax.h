// softmax family: softmax and log_softmax over one axis, forward and backward.
//
// Arrays are viewed as (outer, c, inner), contiguous, reduced over c:
//   inner == 1   rows of c contiguous values: one row per task, vectors along the row
//   inner > 1    columns of stride inner: one W-wide strip of columns per task, vectors across columns
// Each row / column is max-shifted (stable). Rows up to kOnlineMin values
// run three passes over a row that stays in cache (max; exp and sum; scale);
// longer rows, which would come back from memory for every pass, take a
// blocked online max/sum pass (per 512-value block: block max, rescale the
// running sum once) and one output pass, reading x twice instead of three
// times. Each row's arithmetic depends only on the shape, never on the
// thread count. Variants per ISA as in act.h (softmax_simd.h, compiled by
// softmax.cpp / softmax_avx2.cpp / softmax_avx512.cpp).
#pragma once

#include "../core/common.h"

namespace fastdl::cpu {

// Rows longer than this many values take the online pass.
constexpr i64 kSoftmaxOnlineMin = i64{1} << 16;

// y = softmax(x) (log: y = log_softmax(x)) over c; x, y (outer, c, inner).
template <typename T>
void softmax_fwd(T* y, const T* x, i64 outer, i64 c, i64 inner, bool log);

// dx from the forward output y and dy, all (outer, c, inner):
//   softmax:      dx = y (dy - sum_c dy y)
//   log_softmax:  dx = dy - exp(y) sum_c dy
template <typename T>
void softmax_bwd(T* dx, const T* y, const T* dy, i64 outer, i64 c, i64 inner, bool log);

// One ISA's single-threaded kernels: rows [r0, r1) of length c (inner == 1),
// or columns [j0, j1) of slab o (inner > 1). stream: the rows write their
// output with streaming stores (stream.h).
#define FASTDL_SOFTMAX_ISA_DECL                                                                   \
  template <typename T>                                                                           \
  void softmax_fwd_rows(T* y, const T* x, i64 r0, i64 r1, i64 c, bool log, bool stream);          \
  template <typename T>                                                                           \
  void softmax_fwd_cols(T* y, const T* x, i64 o, i64 j0, i64 j1, i64 c, i64 inner, bool log);     \
  template <typename T>                                                                           \
  void softmax_bwd_rows(T* dx, const T* y, const T* dy, i64 r0, i64 r1, i64 c, bool log, bool stream); \
  template <typename T>                                                                           \
  void softmax_bwd_cols(T* dx, const T* y, const T* dy, i64 o, i64 j0, i64 j1, i64 c, i64 inner, \
                        bool log);
namespace generic {
FASTDL_SOFTMAX_ISA_DECL
}
namespace avx2 {
FASTDL_SOFTMAX_ISA_DECL
}
namespace avx512 {
FASTDL_SOFTMAX_ISA_DECL
}
#undef FASTDL_SOFTMAX_ISA_DECL

}  // namespace fastdl::cpu
