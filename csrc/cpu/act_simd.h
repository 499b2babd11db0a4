// The act family's kernels, templated on a vector interface M (vec.h:
// Scalar<T>, or VMath<V> of an ISA). Included once by act.cpp (portable),
// act_avx2.cpp and act_avx512.cpp, each instantiating FASTDL_ACT_DEFINE in
// its own namespace.
//
// One elementwise kernel (map1 / map2 of vec.h) runs every activation; an
// op is a functor with fwd(x) -> y and bwd(a, dy) -> dx, where a is y or x
// (act_bwd_reads_y in act.h). Comparisons are written so that a NaN input
// gives a NaN output in the forward pass (x86 max(0, x) keeps a NaN x);
// +-inf give the limits (gelu(-inf) = silu(-inf) = 0, not -inf * 0).
#pragma once

#include <limits>
#include <type_traits>

#include "act.h"
#include "vec.h"

namespace fastdl::cpu {
namespace {  // internal linkage: see Note [ISA files]

// x * g(x) with g(-inf) = 0 (gelu, silu): the limit 0 at x = -inf, where the
// product itself would be -inf * 0 = NaN.
template <class M>
typename M::reg zero_at_minus_inf(typename M::reg x, typename M::reg y) {
  using T = typename M::T;
  return M::select(M::eq(x, M::set1(-std::numeric_limits<T>::infinity())), M::set1(T(0)), y);
}

template <class M>
struct Sigmoid {
  using reg = typename M::reg;
  using T = typename M::T;
  reg fwd(reg x) const { return M::sigmoid(x); }
  reg bwd(reg y, reg dy) const { return dy * y * (T(1) - y); }
};

template <class M>
struct Tanh {
  using reg = typename M::reg;
  using T = typename M::T;
  reg fwd(reg x) const { return M::tanh(x); }
  reg bwd(reg y, reg dy) const { return dy * (T(1) - y * y); }
};

template <class M>
struct Relu {
  using reg = typename M::reg;
  using T = typename M::T;
  reg fwd(reg x) const { return M::max(M::set1(T(0)), x); }
  reg bwd(reg y, reg dy) const { return M::select(M::gt(y, M::set1(T(0))), dy, M::set1(T(0))); }
};

template <class M>
struct LeakyRelu {
  using reg = typename M::reg;
  using T = typename M::T;
  reg alpha;
  reg fwd(reg x) const { return M::select(M::gt(x, M::set1(T(0))), x, alpha * x); }
  reg bwd(reg x, reg dy) const { return M::select(M::gt(x, M::set1(T(0))), dy, alpha * dy); }
};

template <class M>
struct Elu {
  using reg = typename M::reg;
  using T = typename M::T;
  reg alpha;
  reg fwd(reg x) const { return M::select(M::gt(x, M::set1(T(0))), x, alpha * (M::exp(x) - T(1))); }
  reg bwd(reg x, reg dy) const { return M::select(M::gt(x, M::set1(T(0))), dy, dy * alpha * M::exp(x)); }
};

// x Phi(x); d/dx = Phi(x) + x phi(x).
template <class M>
struct Gelu {
  using reg = typename M::reg;
  using T = typename M::T;
  static constexpr T kRsqrt2 = T(0.70710678118654752440), kRsqrt2Pi = T(0.39894228040143267794);
  reg fwd(reg x) const { return zero_at_minus_inf<M>(x, T(0.5) * x * (T(1) + M::erf(x * kRsqrt2))); }
  reg bwd(reg x, reg dy) const {
    const reg cdf = T(0.5) * (T(1) + M::erf(x * kRsqrt2));
    const reg pdf = kRsqrt2Pi * M::exp(T(-0.5) * x * x);
    return dy * zero_at_minus_inf<M>(x, M::fma(x, pdf, cdf));
  }
};

// (1 + tanh u) / 2 = sigmoid(2u), so y = x / (1 + e^{-2u}) with one exp and
// one division; d/dx = s (1 + 2 x (1 - s) u'), s = sigmoid(2u).
template <class M>
struct GeluTanh {
  using reg = typename M::reg;
  using T = typename M::T;
  static constexpr T kK = T(0.79788456080286535588), kC = T(0.044715);  // sqrt(2/pi)
  static reg minus_2u(reg x) { return T(-2) * kK * M::fma(T(kC) * x, x * x, x); }
  reg fwd(reg x) const { return zero_at_minus_inf<M>(x, x / (T(1) + M::exp(minus_2u(x)))); }
  reg bwd(reg x, reg dy) const {
    const reg s = T(1) / (T(1) + M::exp(minus_2u(x)));
    const reg du = kK * M::fma(T(3 * kC) * x, x, M::set1(T(1)));
    return dy * zero_at_minus_inf<M>(x, s * (T(1) + T(2) * x * (T(1) - s) * du));
  }
};

// x sigmoid(x); d/dx = s (1 + x (1 - s)).
template <class M>
struct Silu {
  using reg = typename M::reg;
  using T = typename M::T;
  reg fwd(reg x) const { return zero_at_minus_inf<M>(x, x / (T(1) + M::exp(-x))); }
  reg bwd(reg x, reg dy) const {
    const reg s = T(1) / (T(1) + M::exp(-x));
    return dy * zero_at_minus_inf<M>(x, s * M::fma(x, T(1) - s, M::set1(T(1))));
  }
};

// Calls f(functor of op).
template <class M, class F>
void with_act(Act op, typename M::T alpha, const F& f) {
  switch (op) {
    case Act::sigmoid: return f(Sigmoid<M>{});
    case Act::tanh: return f(Tanh<M>{});
    case Act::relu: return f(Relu<M>{});
    case Act::leaky_relu: return f(LeakyRelu<M>{M::set1(alpha)});
    case Act::elu: return f(Elu<M>{M::set1(alpha)});
    case Act::gelu: return f(Gelu<M>{});
    case Act::gelu_tanh: return f(GeluTanh<M>{});
    case Act::silu: return f(Silu<M>{});
  }
}

template <class M>
void act_fwd_range_impl(typename M::T* y, const typename M::T* x, i64 n, Act op, typename M::T alpha) {
  using reg = typename M::reg;
  with_act<M>(op, alpha, [&](const auto& a) { map1<M>(y, x, n, [&](reg v) { return a.fwd(v); }); });
}

template <class M>
void act_bwd_range_impl(typename M::T* dx, const typename M::T* a, const typename M::T* dy, i64 n, Act op,
                        typename M::T alpha) {
  using reg = typename M::reg;
  with_act<M>(op, alpha, [&](const auto& f) { map2<M>(dx, a, dy, n, [&](reg u, reg g) { return f.bwd(u, g); }); });
}

// prelu: x > 0 ? x : alpha x, with alpha a register (one channel) or per lane (s == 1).
template <class M>
void prelu_fwd_rows_impl(typename M::T* y, const typename M::T* x, const typename M::T* alpha, i64 r0, i64 r1,
                         i64 c, i64 s) {
  using reg = typename M::reg;
  using T = typename M::T;
  const reg zero = M::set1(T(0));
  if (s == 1) {  // rows of c channels: alpha runs along the row
    for (i64 r = r0; r < r1; ++r)
      map2<M>(y + r * c, x + r * c, alpha, c, [&](reg v, reg a) { return M::select(M::gt(v, zero), v, a * v); });
    return;
  }
  for (i64 r = r0; r < r1; ++r) {
    const reg a = M::set1(alpha[r % c]);
    map1<M>(y + r * s, x + r * s, s, [&](reg v) { return M::select(M::gt(v, zero), v, a * v); });
  }
}

template <class M>
void prelu_bwd_rows_impl(typename M::T* dx, typename M::T* part, const typename M::T* dy, const typename M::T* x,
                         const typename M::T* alpha, i64 r0, i64 r1, i64 c, i64 s) {
  using reg = typename M::reg;
  using T = typename M::T;
  const reg zero = M::set1(T(0));
  if (s == 1) {  // rows of c channels: alpha along the row, part elementwise
    for (i64 r = r0; r < r1; ++r)
      for (i64 j = 0; j < c; j += M::W) {
        const i64 o = r * c + j, w = c - j < M::W ? c - j : M::W;  // load_n / store_n take w == W too
        const reg v = M::load_n(x + o, w, T(0)), g = M::load_n(dy + o, w, T(0));
        const typename M::mask pos = M::gt(v, zero);
        M::store_n(dx + o, M::select(pos, g, M::load_n(alpha + j, w, T(0)) * g), w);
        M::store_n(part + o, M::select(pos, zero, v * g), w);
      }
    return;
  }
  for (i64 r = r0; r < r1; ++r) {
    const reg a = M::set1(alpha[r % c]);
    const T *xr = x + r * s, *gr = dy + r * s;
    T* dr = dx + r * s;
    reg acc = zero;
    i64 j = 0;
    for (; j + M::W <= s; j += M::W) {
      const reg v = M::load(xr + j), g = M::load(gr + j);
      const typename M::mask pos = M::gt(v, zero);
      M::store(dr + j, M::select(pos, g, a * g));
      acc = acc + M::select(pos, zero, v * g);
    }
    if (j < s) {
      const reg v = M::load_n(xr + j, s - j, T(0)), g = M::load_n(gr + j, s - j, T(0));
      const typename M::mask pos = M::gt(v, zero);
      M::store_n(dr + j, M::select(pos, g, a * g), s - j);
      acc = acc + M::select(pos, zero, v * g);
    }
    part[r] = M::reduce_add(acc);
  }
}

// maxout over rows [r0, r1) of z (rows, pieces, m): vectors along m. A lane
// takes piece p when z_p > best, or z_p is the first NaN (np.max / np.argmax).
template <class M>
typename M::mask maxout_takes(typename M::reg v, typename M::reg best) {
  return M::mor(M::gt(v, best), M::mand(M::isnan(v), M::mnot(M::isnan(best))));
}

template <class M>
void maxout_fwd_rows_impl(typename M::T* y, const typename M::T* z, i64 r0, i64 r1, i64 pieces, i64 m) {
  using T = typename M::T;
  using reg = typename M::reg;
  for (i64 r = r0; r < r1; ++r) {
    const T* zr = z + r * pieces * m;
    for_vectors<M>(m, [&](i64 k, i64 w) {
      reg best = load_w<M>(zr + k, w, T(0));
      for (i64 p = 1; p < pieces; ++p) {
        const reg v = load_w<M>(zr + p * m + k, w, T(0));
        best = M::select(maxout_takes<M>(v, best), v, best);
      }
      store_w<M>(y + r * m + k, best, w);
    });
  }
}

template <class M>
void maxout_bwd_rows_impl(typename M::T* dz, const typename M::T* dy, const typename M::T* z, i64 r0, i64 r1,
                          i64 pieces, i64 m) {
  using T = typename M::T;
  using reg = typename M::reg;
  for (i64 r = r0; r < r1; ++r) {
    const T* zr = z + r * pieces * m;
    T* dr = dz + r * pieces * m;
    for_vectors<M>(m, [&](i64 k, i64 w) {
      reg best = load_w<M>(zr + k, w, T(0)), arg = M::set1(T(0));  // piece index as T: exact below 2^24
      for (i64 p = 1; p < pieces; ++p) {
        const reg v = load_w<M>(zr + p * m + k, w, T(0));
        const typename M::mask take = maxout_takes<M>(v, best);
        best = M::select(take, v, best);
        arg = M::select(take, M::set1(T(p)), arg);
      }
      const reg g = load_w<M>(dy + r * m + k, w, T(0)), zero = M::set1(T(0));
      for (i64 p = 0; p < pieces; ++p) store_w<M>(dr + p * m + k, M::select(M::eq(arg, M::set1(T(p))), g, zero), w);
    });
  }
}

}  // namespace
}  // namespace fastdl::cpu

// Defines the FASTDL_ACT_ISA_DECL functions of act.h for vector interfaces
// M32 (float) and M64 (double), inside the including file's ISA namespace.
#define FASTDL_ACT_DEFINE(M32, M64)                                                                  \
  template <typename T>                                                                              \
  using ActM = std::conditional_t<sizeof(T) == 4, M32, M64>;                                         \
  template <typename T>                                                                              \
  void act_fwd_range(T* y, const T* x, i64 n, Act op, T alpha) {                                     \
    act_fwd_range_impl<ActM<T>>(y, x, n, op, alpha);                                                 \
  }                                                                                                  \
  template <typename T>                                                                              \
  void act_bwd_range(T* dx, const T* a, const T* dy, i64 n, Act op, T alpha) {                       \
    act_bwd_range_impl<ActM<T>>(dx, a, dy, n, op, alpha);                                            \
  }                                                                                                  \
  template <typename T>                                                                              \
  void prelu_fwd_rows(T* y, const T* x, const T* alpha, i64 r0, i64 r1, i64 c, i64 s) {              \
    prelu_fwd_rows_impl<ActM<T>>(y, x, alpha, r0, r1, c, s);                                         \
  }                                                                                                  \
  template <typename T>                                                                              \
  void prelu_bwd_rows(T* dx, T* part, const T* dy, const T* x, const T* alpha, i64 r0, i64 r1, i64 c, \
                      i64 s) {                                                                       \
    prelu_bwd_rows_impl<ActM<T>>(dx, part, dy, x, alpha, r0, r1, c, s);                              \
  }                                                                                                  \
  template <typename T>                                                                              \
  void maxout_fwd_rows(T* y, const T* z, i64 r0, i64 r1, i64 pieces, i64 m) {                        \
    maxout_fwd_rows_impl<ActM<T>>(y, z, r0, r1, pieces, m);                                          \
  }                                                                                                  \
  template <typename T>                                                                              \
  void maxout_bwd_rows(T* dz, const T* dy, const T* z, i64 r0, i64 r1, i64 pieces, i64 m) {           \
    maxout_bwd_rows_impl<ActM<T>>(dz, dy, z, r0, r1, pieces, m);                                     \
  }                                                                                                  \
  template void act_fwd_range<float>(float*, const float*, i64, Act, float);                         \
  template void act_fwd_range<double>(double*, const double*, i64, Act, double);                     \
  template void act_bwd_range<float>(float*, const float*, const float*, i64, Act, float);           \
  template void act_bwd_range<double>(double*, const double*, const double*, i64, Act, double);      \
  template void prelu_fwd_rows<float>(float*, const float*, const float*, i64, i64, i64, i64);       \
  template void prelu_fwd_rows<double>(double*, const double*, const double*, i64, i64, i64, i64);   \
  template void prelu_bwd_rows<float>(float*, float*, const float*, const float*, const float*, i64,  \
                                      i64, i64, i64);                                                \
  template void prelu_bwd_rows<double>(double*, double*, const double*, const double*, const double*, \
                                       i64, i64, i64, i64);                                          \
  template void maxout_fwd_rows<float>(float*, const float*, i64, i64, i64, i64);                    \
  template void maxout_fwd_rows<double>(double*, const double*, i64, i64, i64, i64);                 \
  template void maxout_bwd_rows<float>(float*, const float*, const float*, i64, i64, i64, i64);      \
  template void maxout_bwd_rows<double>(double*, const double*, const double*, i64, i64, i64, i64);
