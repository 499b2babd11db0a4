// act family: elementwise activations, prelu and maxout, forward and backward.
//
// One templated elementwise kernel (act_simd.h) runs every activation of
// Act through a small functor per op (fwd above bwd); it is compiled once
// per ISA: act_avx512.cpp, act_avx2.cpp (VMath registers, vmath_simd.h
// polynomials) and act.cpp (Scalar<T>, std:: math: the portable last entry).
// Entries split elements across threads in 64-element blocks; every element
// gets the same arithmetic wherever it falls, so results do not depend on
// the thread count. All kernels overwrite their outputs; arrays contiguous.
#pragma once

#include "../core/common.h"

namespace fastdl::cpu {

enum class Act : int {
  sigmoid = 0,     // y = 1 / (1 + e^-x)                      bwd reads y: dy y (1 - y)
  tanh = 1,        // y = tanh x                              bwd reads y: dy (1 - y^2)
  relu = 2,        // y = max(0, x)                           bwd reads y: y > 0 ? dy : 0
  leaky_relu = 3,  // y = x > 0 ? x : alpha x                 bwd reads x
  elu = 4,         // y = x > 0 ? x : alpha (e^x - 1)         bwd reads x
  gelu = 5,        // y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2       bwd reads x
  gelu_tanh = 6,   // y = x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2   bwd reads x
  silu = 7,        // y = x sigmoid(x)                        bwd reads x
};
constexpr int kActCount = 8;

// Whether act_bwd's `a` is the forward output y (else the input x).
inline bool act_bwd_reads_y(Act op) { return op == Act::sigmoid || op == Act::tanh || op == Act::relu; }

// y (n,) = op(x (n,)); alpha used by leaky_relu and elu. y may be x.
template <typename T>
void act_fwd(T* y, const T* x, i64 n, Act op, T alpha);

// dx (n,) = dL/dx given dy (n,) = dL/dy and a (n,) = y or x (act_bwd_reads_y).
template <typename T>
void act_bwd(T* dx, const T* a, const T* dy, i64 n, Act op, T alpha);

// x, y (n, c, s); alpha (c,): y = x > 0 ? x : alpha[j] x on channel j.
// A scalar alpha is c = 1 (callers fold the channels into s).
template <typename T>
void prelu_fwd(T* y, const T* x, const T* alpha, i64 n, i64 c, i64 s);

// dx (n, c, s) = x > 0 ? dy : alpha[j] dy;  dalpha (c,) = sum over n, s of
// (x > 0 ? 0 : x dy), each row (i, j) summed over s, then rows i in order.
template <typename T>
void prelu_bwd(T* dx, T* dalpha, const T* dy, const T* x, const T* alpha, i64 n, i64 c, i64 s);

// y (n, m) = max over p of z (n, pieces, m) (NaN wins, as np.max).
template <typename T>
void maxout_fwd(T* y, const T* z, i64 n, i64 pieces, i64 m);

// dz (n, pieces, m) = dy at the first maximum of each (i, :, k), else 0 (np.argmax's choice).
template <typename T>
void maxout_bwd(T* dz, const T* dy, const T* z, i64 n, i64 pieces, i64 m);

// One ISA's single-threaded range kernels (act_simd.h), for the entries above.
#define FASTDL_ACT_ISA_DECL                                                                     \
  template <typename T>                                                                         \
  void act_fwd_range(T* y, const T* x, i64 n, Act op, T alpha);                                 \
  template <typename T>                                                                         \
  void act_bwd_range(T* dx, const T* a, const T* dy, i64 n, Act op, T alpha);                   \
  /* rows [r0, r1) of (n, c, s) viewed as n*c rows of s (s > 1), or n rows of c (s == 1) */   \
  template <typename T>                                                                         \
  void prelu_fwd_rows(T* y, const T* x, const T* alpha, i64 r0, i64 r1, i64 c, i64 s);          \
  /* also part (rows, c) = x > 0 ? 0 : x dy summed over s (s == 1: elementwise) */            \
  template <typename T>                                                                         \
  void prelu_bwd_rows(T* dx, T* part, const T* dy, const T* x, const T* alpha, i64 r0, i64 r1, \
                      i64 c, i64 s);                                                            \
  /* rows [r0, r1) of z (rows, pieces, m) */                                                    \
  template <typename T>                                                                         \
  void maxout_fwd_rows(T* y, const T* z, i64 r0, i64 r1, i64 pieces, i64 m);                     \
  template <typename T>                                                                         \
  void maxout_bwd_rows(T* dz, const T* dy, const T* z, i64 r0, i64 r1, i64 pieces, i64 m);
namespace generic {
FASTDL_ACT_ISA_DECL
}
namespace avx2 {
FASTDL_ACT_ISA_DECL
}
namespace avx512 {
FASTDL_ACT_ISA_DECL
}
#undef FASTDL_ACT_ISA_DECL

}  // namespace fastdl::cpu
