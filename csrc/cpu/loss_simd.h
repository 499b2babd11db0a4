// The loss family's kernels, templated on a vector interface M (vec.h);
// compiled by loss.cpp (Scalar<T>), loss_avx2.cpp and loss_avx512.cpp
// through FASTDL_LOSS_DEFINE. Contract: loss.h. Cross entropy reuses the
// softmax family's row pieces (row_max, row_sum_exp, row_online).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "loss.h"
#include "softmax_simd.h"
#include "vec.h"

namespace fastdl::cpu {
namespace {  // internal linkage: see Note [ISA files]

// A pointwise loss: value(a, b), grad(a, b, g, da, db) (da, db = g times the
// partial derivatives) and bad(a), the lanes outside the loss's domain.
template <class M>
struct Mse {
  using reg = typename M::reg;
  using T = typename M::T;
  reg value(reg a, reg b) const { return (a - b) * (a - b); }
  void grad(reg a, reg b, reg g, reg& da, reg& db) const {
    da = T(2) * g * (a - b);
    db = -da;
  }
  typename M::mask bad(reg a) const { return M::lt(a, a); }  // never
};

template <class M>
struct L1 {
  using reg = typename M::reg;
  using T = typename M::T;
  reg value(reg a, reg b) const { return M::abs(a - b); }
  void grad(reg a, reg b, reg g, reg& da, reg& db) const {
    const reg d = a - b, zero = M::set1(T(0));  // sign(d): 0 at 0, NaN at NaN (d * 0)
    const reg sign = M::select(M::gt(d, zero), M::set1(T(1)), M::select(M::lt(d, zero), M::set1(T(-1)), d * T(0)));
    da = g * sign;
    db = -da;
  }
  typename M::mask bad(reg a) const { return M::lt(a, a); }
};

// PyTorch's clamps: each log at least -100, the gradient's denominator at least 1e-12.
template <class M>
struct Bce {
  using reg = typename M::reg;
  using T = typename M::T;
  static reg log_a(reg a) { return M::max(M::set1(T(-100)), M::log(a)); }      // max keeps a NaN log
  static reg log_1ma(reg a) { return M::max(M::set1(T(-100)), M::log1p(-a)); }
  reg value(reg a, reg b) const { return -(b * log_a(a) + (T(1) - b) * log_1ma(a)); }
  void grad(reg a, reg b, reg g, reg& da, reg& db) const {
    da = g * (a - b) / M::max(M::set1(T(1e-12)), a * (T(1) - a));
    db = g * (log_1ma(a) - log_a(a));
  }
  typename M::mask bad(reg a) const { return M::mor(M::lt(a, M::set1(T(0))), M::gt(a, M::set1(T(1)))); }
};

template <class M>
struct BceLogits {
  using reg = typename M::reg;
  using T = typename M::T;
  reg value(reg a, reg b) const {
    return M::max(M::set1(T(0)), a) - a * b + M::log1p(M::exp(-M::abs(a)));
  }
  void grad(reg a, reg b, reg g, reg& da, reg& db) const {
    da = g * (M::sigmoid(a) - b);
    db = -(g * a);
  }
  typename M::mask bad(reg a) const { return M::lt(a, a); }
};

template <class M>
struct GaussianKl {
  using reg = typename M::reg;
  using T = typename M::T;
  reg value(reg mu, reg lv) const { return T(-0.5) * (T(1) + lv - mu * mu - M::exp(lv)); }
  void grad(reg mu, reg lv, reg g, reg& da, reg& db) const {
    da = g * mu;
    db = T(0.5) * g * (M::exp(lv) - T(1));
  }
  typename M::mask bad(reg a) const { return M::lt(a, a); }
};

template <class M, class F>
void with_loss(Loss kind, const F& f) {
  switch (kind) {
    case Loss::mse: return f(Mse<M>{});
    case Loss::l1: return f(L1<M>{});
    case Loss::bce: return f(Bce<M>{});
    case Loss::bce_logits: return f(BceLogits<M>{});
    case Loss::gaussian_kl: return f(GaussianKl<M>{});
  }
}

template <class M>
double pointwise_loss_fwd_range_impl(typename M::T* loss, const typename M::T* a, const typename M::T* b, i64 n,
                                     Loss kind, i64* bad) {
  using T = typename M::T;
  using reg = typename M::reg;
  double sum = 0;
  with_loss<M>(kind, [&](const auto& f) {
    reg acc = M::set1(T(0));
    i64 nbad = 0, i = 0;
    for (; i + M::W <= n; i += M::W) {
      const reg av = M::load(a + i), v = f.value(av, M::load(b + i));
      if (loss) M::store(loss + i, v);
      acc = acc + v;
      nbad += M::count(f.bad(av));
    }
    if (i < n) {  // padding lanes (a = b = 0) are zeroed before the sum
      const reg av = M::load_n(a + i, n - i, T(0)), v = f.value(av, M::load_n(b + i, n - i, T(0)));
      if (loss) M::store_n(loss + i, v, n - i);
      T tmp[M::W] = {};
      M::store_n(tmp, v, n - i);
      acc = acc + M::load(tmp);
      nbad += M::count(f.bad(av));
    }
    sum = double(M::reduce_add(acc));
    *bad += nbad;
  });
  return sum;
}

template <class M>
void pointwise_loss_bwd_range_impl(typename M::T* da, typename M::T* db, const typename M::T* a,
                                   const typename M::T* b, const typename M::T* dout, typename M::T scale, i64 n,
                                   Loss kind) {
  using T = typename M::T;
  using reg = typename M::reg;
  const reg sv = M::set1(scale);
  with_loss<M>(kind, [&](const auto& f) {
    for_vectors<M>(n, [&](i64 i, i64 w) {
      const reg g = dout ? sv * load_w<M>(dout + i, w, T(0)) : sv;
      reg ga, gb;
      f.grad(load_w<M>(a + i, w, T(0)), load_w<M>(b + i, w, T(0)), g, ga, gb);
      store_w<M>(da + i, ga, w);
      if (db) store_w<M>(db + i, gb, w);
    });
  });
}

// lse and loss of one contiguous row of c logits.
template <class M>
void ce_row(typename M::T* loss, typename M::T* lse, const typename M::T* xr, std::int64_t label, i64 c,
            std::int64_t ignore) {
  using T = typename M::T;
  T m, s;
  if (c > kSoftmaxOnlineMin) {
    row_online<M>(xr, c, m, s);
  } else {
    m = row_max<M>(xr, c);
    s = row_sum_exp<M>(nullptr, xr, c, m);
  }
  const T l = m + std::log(s);
  *lse = l;
  *loss = label == ignore ? T(0) : l - xr[label];
}

template <class M>
void ce_fwd_rows_impl(typename M::T* loss, typename M::T* lse, const typename M::T* x, const std::int64_t* labels,
                      i64 r0, i64 r1, i64 c, std::int64_t ignore) {
  for (i64 r = r0; r < r1; ++r) ce_row<M>(loss + r, lse + r, x + r * c, labels[r], c, ignore);
}

template <class M>
void ce_bwd_rows_impl(typename M::T* dx, const typename M::T* x, const typename M::T* lse,
                      const std::int64_t* labels, const typename M::T* dout, typename M::T scale, i64 r0, i64 r1,
                      i64 c, std::int64_t ignore) {
  using T = typename M::T;
  using reg = typename M::reg;
  for (i64 r = r0; r < r1; ++r) {
    T* dr = dx + r * c;
    const T* xr = x + r * c;
    const std::int64_t label = labels[r];
    if (label == ignore) {
      for_vectors<M>(c, [&](i64 j, i64 w) { store_w<M>(dr + j, M::set1(T(0)), w); });
      continue;
    }
    const T g = dout ? scale * dout[r] : scale;
    const reg gv = M::set1(g), l = M::set1(lse[r]);
    for_vectors<M>(c, [&](i64 j, i64 w) { store_w<M>(dr + j, gv * M::exp(load_w<M>(xr + j, w, T(0)) - l), w); });
    dr[label] -= g;
  }
}

// Columns j0..j1 of slab i of x (n, c, s): lanes are positions j, reduced down c.
template <class M>
void ce_fwd_cols_impl(typename M::T* loss, typename M::T* lse, const typename M::T* x, const std::int64_t* labels,
                      i64 i, i64 j0, i64 j1, i64 c, i64 s, std::int64_t ignore) {
  using T = typename M::T;
  using reg = typename M::reg;
  constexpr T ninf = -std::numeric_limits<T>::infinity();
  const T* xi = x + i * c * s;
  for_vectors<M>(j1 - j0, [&](i64 jj, i64 w) {
    const i64 j = j0 + jj;
    reg m = M::set1(ninf), sum = M::set1(T(0));
    for (i64 k = 0; k < c; ++k) m = M::max(m, load_w<M>(xi + k * s + j, w, ninf));
    for (i64 k = 0; k < c; ++k) sum = sum + M::exp(load_w<M>(xi + k * s + j, w, ninf) - m);
    store_w<M>(lse + i * s + j, m + M::log(sum), w);
  });
  for (i64 j = j0; j < j1; ++j) {
    const std::int64_t label = labels[i * s + j];
    loss[i * s + j] = label == ignore ? T(0) : lse[i * s + j] - xi[label * s + j];
  }
}

template <class M>
void ce_bwd_cols_impl(typename M::T* dx, const typename M::T* x, const typename M::T* lse,
                      const std::int64_t* labels, const typename M::T* dout, typename M::T scale, i64 i, i64 j0,
                      i64 j1, i64 c, i64 s, std::int64_t ignore) {
  using T = typename M::T;
  using reg = typename M::reg;
  const i64 base = i * c * s, pos = i * s;
  for_vectors<M>(j1 - j0, [&](i64 jj, i64 w) {
    const i64 j = j0 + jj;
    const reg g = dout ? M::set1(scale) * load_w<M>(dout + pos + j, w, T(0)) : M::set1(scale);
    const reg l = load_w<M>(lse + pos + j, w, T(0));
    for (i64 k = 0; k < c; ++k) {
      const i64 p = base + k * s + j;
      store_w<M>(dx + p, g * M::exp(load_w<M>(x + p, w, T(0)) - l), w);
    }
  });
  for (i64 j = j0; j < j1; ++j) {
    const std::int64_t label = labels[pos + j];
    if (label == ignore) {  // exactly 0, even where x is not finite
      for (i64 k = 0; k < c; ++k) dx[base + k * s + j] = T(0);
    } else {
      dx[base + label * s + j] -= dout ? scale * dout[pos + j] : scale;
    }
  }
}

}  // namespace
}  // namespace fastdl::cpu

// Defines the FASTDL_LOSS_ISA_DECL functions of loss.h for vector interfaces
// M32 (float) and M64 (double), in the including file's namespace.
#define FASTDL_LOSS_DEFINE(M32, M64)                                                                            \
  template <typename T>                                                                                         \
  using LossM = std::conditional_t<sizeof(T) == 4, M32, M64>;                                                   \
  template <typename T>                                                                                         \
  double pointwise_loss_fwd_range(T* loss, const T* a, const T* b, i64 n, Loss kind, i64* bad) {                \
    return pointwise_loss_fwd_range_impl<LossM<T>>(loss, a, b, n, kind, bad);                                   \
  }                                                                                                             \
  template <typename T>                                                                                         \
  void pointwise_loss_bwd_range(T* da, T* db, const T* a, const T* b, const T* dout, T scale, i64 n, Loss kind) { \
    pointwise_loss_bwd_range_impl<LossM<T>>(da, db, a, b, dout, scale, n, kind);                                \
  }                                                                                                             \
  template <typename T>                                                                                         \
  void ce_fwd_rows(T* loss, T* lse, const T* x, const std::int64_t* labels, i64 r0, i64 r1, i64 c,              \
                   std::int64_t ignore) {                                                                       \
    ce_fwd_rows_impl<LossM<T>>(loss, lse, x, labels, r0, r1, c, ignore);                                        \
  }                                                                                                             \
  template <typename T>                                                                                         \
  void ce_fwd_cols(T* loss, T* lse, const T* x, const std::int64_t* labels, i64 i, i64 j0, i64 j1, i64 c, i64 s, \
                   std::int64_t ignore) {                                                                       \
    ce_fwd_cols_impl<LossM<T>>(loss, lse, x, labels, i, j0, j1, c, s, ignore);                                  \
  }                                                                                                             \
  template <typename T>                                                                                         \
  void ce_bwd_rows(T* dx, const T* x, const T* lse, const std::int64_t* labels, const T* dout, T scale, i64 r0,   \
                   i64 r1, i64 c, std::int64_t ignore) {                                                        \
    ce_bwd_rows_impl<LossM<T>>(dx, x, lse, labels, dout, scale, r0, r1, c, ignore);                             \
  }                                                                                                             \
  template <typename T>                                                                                         \
  void ce_bwd_cols(T* dx, const T* x, const T* lse, const std::int64_t* labels, const T* dout, T scale, i64 i,   \
                   i64 j0, i64 j1, i64 c, i64 s, std::int64_t ignore) {                                         \
    ce_bwd_cols_impl<LossM<T>>(dx, x, lse, labels, dout, scale, i, j0, j1, c, s, ignore);                       \
  }                                                                                                             \
  FASTDL_LOSS_INSTANTIATE(float)                                                                                \
  FASTDL_LOSS_INSTANTIATE(double)

#define FASTDL_LOSS_INSTANTIATE(T)                                                                             \
  template double pointwise_loss_fwd_range<T>(T*, const T*, const T*, i64, Loss, i64*);                       \
  template void pointwise_loss_bwd_range<T>(T*, T*, const T*, const T*, const T*, T, i64, Loss);              \
  template void ce_fwd_rows<T>(T*, T*, const T*, const std::int64_t*, i64, i64, i64, std::int64_t);           \
  template void ce_fwd_cols<T>(T*, T*, const T*, const std::int64_t*, i64, i64, i64, i64, i64, std::int64_t); \
  template void ce_bwd_rows<T>(T*, const T*, const T*, const std::int64_t*, const T*, T, i64, i64, i64,        \
                               std::int64_t);                                                                 \
  template void ce_bwd_cols<T>(T*, const T*, const T*, const std::int64_t*, const T*, T, i64, i64, i64, i64,   \
                               i64, std::int64_t);
