// The softmax family's kernels, templated on a vector interface M (vec.h);
// compiled by softmax.cpp (Scalar<T>), softmax_avx2.cpp, softmax_avx512.cpp
// through FASTDL_SOFTMAX_DEFINE. Contract and variants: softmax.h.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

#include "softmax.h"
#include "stream.h"
#include "vec.h"

namespace fastdl::cpu {
namespace {  // internal linkage: see Note [ISA files]

// Folds f(v) of every vector of elements [j0, j0 + c) into four accumulators
// (four independent dependency chains), then combines them in a fixed order:
// op(op(a0, a1), op(a2, a3)). Padding lanes read `fill`.
template <class M, class Load, class Op>
typename M::reg fold4_block(i64 j0, i64 c, typename M::T init, const Load& load, const Op& op) {
  using reg = typename M::reg;
  reg a0 = M::set1(init), a1 = a0, a2 = a0, a3 = a0;
  i64 j = 0;
  for (; j + 4 * M::W <= c; j += 4 * M::W) {
    a0 = op(a0, load(j0 + j, M::W));
    a1 = op(a1, load(j0 + j + M::W, M::W));
    a2 = op(a2, load(j0 + j + 2 * M::W, M::W));
    a3 = op(a3, load(j0 + j + 3 * M::W, M::W));
  }
  for (; j < c; j += M::W) a0 = op(a0, load(j0 + j, c - j < M::W ? c - j : M::W));
  return op(op(a0, a1), op(a2, a3));
}

// fold4_block over a whole row, in blocks of kFoldBlock elements whose results
// are folded in order: a long sum's rounding error grows with the block count
// plus the block length, not with the row length (a 70000-long dot product on
// the scalar path: ~20 eps instead of ~130).
constexpr i64 kFoldBlock = 1024;  // a multiple of 4 W for every vector width

template <class M, class Load, class Op>
typename M::reg fold4(i64 c, typename M::T init, const Load& load, const Op& op) {
  typename M::reg acc = fold4_block<M>(0, c < kFoldBlock ? c : kFoldBlock, init, load, op);
  for (i64 j0 = kFoldBlock; j0 < c; j0 += kFoldBlock)
    acc = op(acc, fold4_block<M>(j0, c - j0 < kFoldBlock ? c - j0 : kFoldBlock, init, load, op));
  return acc;
}

template <class M>
typename M::T row_max(const typename M::T* x, i64 c) {
  using T = typename M::T;
  using reg = typename M::reg;
  constexpr T ninf = -std::numeric_limits<T>::infinity();
  return M::reduce_max(fold4<M>(
      c, ninf, [&](i64 j, i64 w) { return load_w<M>(x + j, w, ninf); }, [](reg a, reg b) { return M::max(a, b); }));
}

// sum of exp(x - m) over the row; also stores the exps to y when y != null.
// next (c,) or null: the next row, prefetched into L1 line by line (this pass
// is bound by exp, not memory, so its loads come early for free; softmax
// (4096, 1000) forward 0.80 ms instead of 0.87 at one thread).
template <class M>
typename M::T row_sum_exp(typename M::T* y, const typename M::T* x, i64 c, typename M::T m,
                          const typename M::T* next = nullptr) {
  using T = typename M::T;
  constexpr T ninf = -std::numeric_limits<T>::infinity();
  constexpr i64 kLine = kLineBytes / i64(sizeof(T));
  const typename M::reg mv = M::set1(m);
  typename M::reg s = M::set1(T(0));
  for_vectors<M>(c, [&](i64 j, i64 w) {
    if (next && j % kLine == 0) __builtin_prefetch(next + j, 0, 3);
    const typename M::reg e = M::exp(load_w<M>(x + j, w, ninf) - mv);  // padding: exp(-inf) = 0
    if (y) store_w<M>(y + j, e, w);
    s = s + e;
  });
  return M::reduce_add(s);
}

// Blocked online pass over a long row: (max, sum of exp(x - max)), reading x once.
template <class M>
void row_online(const typename M::T* x, i64 c, typename M::T& m_out, typename M::T& s_out) {
  using T = typename M::T;
  constexpr i64 kBlock = 512;
  T m = -std::numeric_limits<T>::infinity(), s = T(0);
  for (i64 b = 0; b < c; b += kBlock) {
    const i64 len = c - b < kBlock ? c - b : kBlock;
    const T bm = row_max<M>(x + b, len);
    const T mn = bm > m ? bm : m;  // (a NaN row gives a NaN sum below either way)
    if (mn == -std::numeric_limits<T>::infinity()) continue;  // all -inf so far: adds 0
    if (mn != m && s != T(0)) s *= std::exp(m - mn);
    m = mn;
    s += row_sum_exp<M>(nullptr, x + b, len, m);
  }
  m_out = m, s_out = s;
}

// Rows of at most kStreamRowBuf values keep their exps in an L1 buffer while
// the output streams (the exps cannot wait in y: that store would read y's
// lines first); longer ones compute exp(x - m) again in the output pass.
constexpr i64 kStreamRowBuf = 4096;

template <class M>
void softmax_fwd_rows_impl(typename M::T* y, const typename M::T* x, i64 r0, i64 r1, i64 c, bool log, bool stream) {
  using T = typename M::T;
  using reg = typename M::reg;
  alignas(64) T buf[kStreamRowBuf];
  for (i64 r = r0; r < r1; ++r) {
    const T* xr = x + r * c;
    T* yr = y + r * c;
    T m, s;
    const bool online = c > kSoftmaxOnlineMin;
    const bool again = !online && !log && stream && c > kStreamRowBuf;  // exps computed again
    T* e = stream ? buf : yr;  // where the exps wait
    if (online) {
      row_online<M>(xr, c, m, s);
    } else {
      m = row_max<M>(xr, c);
      s = row_sum_exp<M>(log || again ? nullptr : e, xr, c, m, r + 1 < r1 ? xr + c : nullptr);
    }
    if (log) {  // y = x - (m + log s)
      const reg lse = M::set1(m + std::log(s));
      store_vectors<M>(yr, c, stream, [&](i64 j, i64 w) { return load_w<M>(xr + j, w, T(0)) - lse; });
    } else if (online || again) {  // y = exp(x - m) / s
      const reg mv = M::set1(m), inv = M::set1(T(1) / s);
      store_vectors<M>(yr, c, stream, [&](i64 j, i64 w) { return M::exp(load_w<M>(xr + j, w, T(0)) - mv) * inv; });
    } else {  // e holds exp(x - m)
      const reg inv = M::set1(T(1) / s);
      store_vectors<M>(yr, c, stream, [&](i64 j, i64 w) { return load_w<M>(e + j, w, T(0)) * inv; });
    }
  }
  if (stream) stream_fence();
}

template <class M>
void softmax_bwd_rows_impl(typename M::T* dx, const typename M::T* y, const typename M::T* dy, i64 r0, i64 r1,
                           i64 c, bool log, bool stream) {
  using T = typename M::T;
  using reg = typename M::reg;
  for (i64 r = r0; r < r1; ++r) {
    const T *yr = y + r * c, *gr = dy + r * c;
    T* dr = dx + r * c;
    const auto add = [](reg a, reg b) { return a + b; };
    if (log) {  // dx = dy - exp(y) sum(dy)
      const reg s = M::set1(M::reduce_add(fold4<M>(c, T(0), [&](i64 j, i64 w) { return load_w<M>(gr + j, w, T(0)); }, add)));
      store_vectors<M>(dr, c, stream, [&](i64 j, i64 w) {
        return load_w<M>(gr + j, w, T(0)) - M::exp(load_w<M>(yr + j, w, T(0))) * s;
      });
    } else {  // dx = y (dy - sum(dy y))
      const auto prod = [&](i64 j, i64 w) { return load_w<M>(gr + j, w, T(0)) * load_w<M>(yr + j, w, T(0)); };
      const reg d = M::set1(M::reduce_add(fold4<M>(c, T(0), prod, add)));
      store_vectors<M>(dr, c, stream, [&](i64 j, i64 w) {
        return load_w<M>(yr + j, w, T(0)) * (load_w<M>(gr + j, w, T(0)) - d);
      });
    }
  }
  if (stream) stream_fence();
}

// Columns: each lane is one column, reduced down the c rows (stride inner).
template <class M>
void softmax_fwd_cols_impl(typename M::T* y, const typename M::T* x, i64 o, i64 j0, i64 j1, i64 c, i64 inner,
                           bool log) {
  using T = typename M::T;
  using reg = typename M::reg;
  constexpr T ninf = -std::numeric_limits<T>::infinity();
  const T* xo = x + o * c * inner;
  T* yo = y + o * c * inner;
  for_vectors<M>(j1 - j0, [&](i64 jj, i64 w) {
    const i64 j = j0 + jj;
    reg m = M::set1(ninf), s = M::set1(T(0));
    for (i64 k = 0; k < c; ++k) m = M::max(m, load_w<M>(xo + k * inner + j, w, ninf));
    for (i64 k = 0; k < c; ++k) {
      const reg e = M::exp(load_w<M>(xo + k * inner + j, w, ninf) - m);
      if (!log) store_w<M>(yo + k * inner + j, e, w);
      s = s + e;
    }
    if (log) {
      const reg lse = m + M::log(s);
      for (i64 k = 0; k < c; ++k) store_w<M>(yo + k * inner + j, load_w<M>(xo + k * inner + j, w, T(0)) - lse, w);
    } else {
      const reg inv = T(1) / s;
      for (i64 k = 0; k < c; ++k) store_w<M>(yo + k * inner + j, load_w<M>(yo + k * inner + j, w, T(0)) * inv, w);
    }
  });
}

template <class M>
void softmax_bwd_cols_impl(typename M::T* dx, const typename M::T* y, const typename M::T* dy, i64 o, i64 j0,
                           i64 j1, i64 c, i64 inner, bool log) {
  using T = typename M::T;
  using reg = typename M::reg;
  const i64 base = o * c * inner;
  for_vectors<M>(j1 - j0, [&](i64 jj, i64 w) {
    const i64 j = base + j0 + jj;
    reg acc = M::set1(T(0));
    if (log) {
      for (i64 k = 0; k < c; ++k) acc = acc + load_w<M>(dy + j + k * inner, w, T(0));
      for (i64 k = 0; k < c; ++k) {
        const i64 p = j + k * inner;
        store_w<M>(dx + p, load_w<M>(dy + p, w, T(0)) - M::exp(load_w<M>(y + p, w, T(0))) * acc, w);
      }
    } else {
      for (i64 k = 0; k < c; ++k) {
        const i64 p = j + k * inner;
        acc = M::fma(load_w<M>(dy + p, w, T(0)), load_w<M>(y + p, w, T(0)), acc);
      }
      for (i64 k = 0; k < c; ++k) {
        const i64 p = j + k * inner;
        store_w<M>(dx + p, load_w<M>(y + p, w, T(0)) * (load_w<M>(dy + p, w, T(0)) - acc), w);
      }
    }
  });
}

}  // namespace
}  // namespace fastdl::cpu

// Defines the FASTDL_SOFTMAX_ISA_DECL functions of softmax.h for vector
// interfaces M32 (float) and M64 (double), in the including file's namespace.
#define FASTDL_SOFTMAX_DEFINE(M32, M64)                                                                      \
  template <typename T>                                                                                      \
  using SoftmaxM = std::conditional_t<sizeof(T) == 4, M32, M64>;                                             \
  template <typename T>                                                                                      \
  void softmax_fwd_rows(T* y, const T* x, i64 r0, i64 r1, i64 c, bool log, bool stream) {                    \
    softmax_fwd_rows_impl<SoftmaxM<T>>(y, x, r0, r1, c, log, stream);                                        \
  }                                                                                                          \
  template <typename T>                                                                                      \
  void softmax_fwd_cols(T* y, const T* x, i64 o, i64 j0, i64 j1, i64 c, i64 inner, bool log) {               \
    softmax_fwd_cols_impl<SoftmaxM<T>>(y, x, o, j0, j1, c, inner, log);                                      \
  }                                                                                                          \
  template <typename T>                                                                                      \
  void softmax_bwd_rows(T* dx, const T* y, const T* dy, i64 r0, i64 r1, i64 c, bool log, bool stream) {      \
    softmax_bwd_rows_impl<SoftmaxM<T>>(dx, y, dy, r0, r1, c, log, stream);                                   \
  }                                                                                                          \
  template <typename T>                                                                                      \
  void softmax_bwd_cols(T* dx, const T* y, const T* dy, i64 o, i64 j0, i64 j1, i64 c, i64 inner, bool log) { \
    softmax_bwd_cols_impl<SoftmaxM<T>>(dx, y, dy, o, j0, j1, c, inner, log);                                 \
  }                                                                                                          \
  template void softmax_fwd_rows<float>(float*, const float*, i64, i64, i64, bool, bool);                    \
  template void softmax_fwd_rows<double>(double*, const double*, i64, i64, i64, bool, bool);                 \
  template void softmax_fwd_cols<float>(float*, const float*, i64, i64, i64, i64, i64, bool);                \
  template void softmax_fwd_cols<double>(double*, const double*, i64, i64, i64, i64, i64, bool);             \
  template void softmax_bwd_rows<float>(float*, const float*, const float*, i64, i64, i64, bool, bool);      \
  template void softmax_bwd_rows<double>(double*, const double*, const double*, i64, i64, i64, bool, bool);  \
  template void softmax_bwd_cols<float>(float*, const float*, const float*, i64, i64, i64, i64, i64, bool);   \
  template void softmax_bwd_cols<double>(double*, const double*, const double*, i64, i64, i64, i64, i64, bool);
