// loss family: pointwise losses (mse, l1, bce, bce_with_logits, gaussian KL),
// cross entropy on logits with integer labels, multiclass hinge.
//
// Pointwise losses run one elementwise kernel with a small functor per loss
// (loss_simd.h; value above gradients), like the act family. Cross entropy
// is fused: the forward pass keeps one log-sum-exp per position (n values,
// not n * c probabilities) and the backward pass writes
// dlogits = g (exp(x - lse) - onehot) straight from the logits. Hinge is
// portable C++ only (not a memory-bound hot spot).
//
// Reductions are deterministic: per-element values are summed in fixed
// 4096-element blocks (per-position losses in fixed 1024-row blocks), each
// block in an order fixed by the shape, and the block sums are added in
// block order in double. Threads only split blocks.
//
// Variants per ISA as in act.h: loss.cpp (Scalar<T>), loss_avx2.cpp,
// loss_avx512.cpp. Arrays contiguous; labels int64.
#pragma once

#include "../core/common.h"

namespace fastdl::cpu {

enum class Loss : int {
  mse = 0,         // (a - b)^2                                         da = 2 (a - b), db = -da
  l1 = 1,          // |a - b|                                           da = sign(a - b), db = -da
  bce = 2,         // -(b log a + (1 - b) log(1 - a)), logs >= -100     da = (a - b) / max(a (1 - a), 1e-12)
                   //                                                   db = log(1 - a) - log a (clamped)
  bce_logits = 3,  // max(a, 0) - a b + log(1 + e^-|a|)                  da = sigmoid(a) - b, db = -a
  gaussian_kl = 4, // -(1 + b - a^2 - e^b) / 2   (a = mu, b = logvar)    da = a, db = (e^b - 1) / 2
};
constexpr int kLossCount = 5;

// loss (n,) per-element values when non-null; returns the sum of all of them
// (in double, fixed order). *bad = number of elements outside the loss's
// domain (bce: a outside [0, 1]; NaN is not counted: it propagates).
template <typename T>
double pointwise_loss_fwd(T* loss, const T* a, const T* b, i64 n, Loss kind, i64* bad);

// da (n,) = g dloss/da, db (n,) = g dloss/db (db may be null), with
// g = scale * dout[i] (dout non-null) or scale.
template <typename T>
void pointwise_loss_bwd(T* da, T* db, const T* a, const T* b, const T* dout, T scale, i64 n, Loss kind);

// Cross entropy over axis 1 of x (n, c, s) with labels (n, s):
//   lse (n, s) = logsumexp over c;  loss (n, s) = lse - x[label] (0 where label == ignore).
// Returns the sum of loss; *count = positions whose label is not ignore;
// *bad = labels outside [0, c) other than ignore (then nothing is computed).
template <typename T>
double cross_entropy_fwd(T* loss, T* lse, const T* x, const std::int64_t* labels, i64 n, i64 c, i64 s,
                         std::int64_t ignore, i64* count, i64* bad);

// dx (n, c, s) = g (exp(x - lse) - [k == label]) per position, 0 where ignored;
// g = scale * dout[i, j] (dout (n, s) non-null) or scale. Labels checked by the forward.
template <typename T>
void cross_entropy_bwd(T* dx, const T* x, const T* lse, const std::int64_t* labels, const T* dout, T scale, i64 n,
                       i64 c, i64 s, std::int64_t ignore);

// Multiclass hinge (torch MultiMarginLoss, p = 1) on x (n, c), labels (n,):
//   loss (n,) = sum over j != y of max(0, margin - x[y] + x[j]) / c.
// Returns the sum; *bad = labels outside [0, c) (then nothing is computed).
template <typename T>
double hinge_fwd(T* loss, const T* x, const std::int64_t* labels, i64 n, i64 c, T margin, i64* bad);

// dx (n, c): g / c for each j != y with a positive margin term, and -(their count) g / c at y.
template <typename T>
void hinge_bwd(T* dx, const T* x, const std::int64_t* labels, const T* dout, T scale, i64 n, i64 c, T margin);

// One ISA's single-threaded kernels (loss_simd.h).
#define FASTDL_LOSS_ISA_DECL                                                                                   \
  /* loss values of [0, n) (loss may be null); returns their sum, adds out-of-domain elements to *bad */      \
  template <typename T>                                                                                        \
  double pointwise_loss_fwd_range(T* loss, const T* a, const T* b, i64 n, Loss kind, i64* bad);                \
  template <typename T>                                                                                        \
  void pointwise_loss_bwd_range(T* da, T* db, const T* a, const T* b, const T* dout, T scale, i64 n, Loss kind); \
  /* rows [r0, r1) of x (rows, c) (s == 1), or columns [j0, j1) of slab i (s > 1) */                          \
  template <typename T>                                                                                        \
  void ce_fwd_rows(T* loss, T* lse, const T* x, const std::int64_t* labels, i64 r0, i64 r1, i64 c,             \
                   std::int64_t ignore);                                                                       \
  template <typename T>                                                                                        \
  void ce_fwd_cols(T* loss, T* lse, const T* x, const std::int64_t* labels, i64 i, i64 j0, i64 j1, i64 c, i64 s, \
                   std::int64_t ignore);                                                                       \
  template <typename T>                                                                                        \
  void ce_bwd_rows(T* dx, const T* x, const T* lse, const std::int64_t* labels, const T* dout, T scale, i64 r0,  \
                   i64 r1, i64 c, std::int64_t ignore);                                                        \
  template <typename T>                                                                                        \
  void ce_bwd_cols(T* dx, const T* x, const T* lse, const std::int64_t* labels, const T* dout, T scale, i64 i,  \
                   i64 j0, i64 j1, i64 c, i64 s, std::int64_t ignore);
namespace generic {
FASTDL_LOSS_ISA_DECL
}
namespace avx2 {
FASTDL_LOSS_ISA_DECL
}
namespace avx512 {
FASTDL_LOSS_ISA_DECL
}
#undef FASTDL_LOSS_ISA_DECL

}  // namespace fastdl::cpu
