// norm family: batch_norm, and the row norms layer_norm, group_norm and
// instance_norm, each forward directly above its backward.
//
// Every statistic is (x - mean) / sqrt(var + eps) with the biased variance,
// computed in two passes (mean, then squared deviations) over data that is
// still in cache, and every sum runs in an order fixed by the shape alone:
// results are bit-identical for any thread count.
//
// All arrays are C-contiguous. gamma/beta may be null (no affine part); a null
// gradient output is not computed.
#pragma once

#include "../core/common.h"

namespace fastdl::cpu {

// Row norms. x is (rows, L) with L = cg * s: each row is normalised on its own,
// and holds cg channels of s contiguous elements; row r's channel c uses
// gamma/beta[(r % groups) * cg + c].
//   layer_norm:    rows = prod(batch dims), groups = 1,  cg = L,     s = 1
//   group_norm:    rows = N * G,            groups = G,  cg = C / G, s = prod(spatial)
//   instance_norm: rows = N * C,            groups = C,  cg = 1,     s = prod(spatial)
struct RowNormParams {
  i64 rows;    // independent normalisations
  i64 groups;  // rows cycle through this many gamma/beta slices
  i64 cg;      // channels per row (gamma/beta have groups * cg entries)
  i64 s;       // contiguous elements per channel
  double eps;  // added to the variance
};

// y (rows, L) = (x - mean_r) * rstd_r * gamma + beta; mean, rstd (rows,) are saved for backward.
// x (rows, L); gamma, beta (groups * cg,) or null.
template <typename T>
void row_norm_fwd(T* y, T* mean, T* rstd, const T* x, const T* gamma, const T* beta,
                  const RowNormParams& p);

// dx (rows, L); dgamma, dbeta (groups * cg,) or null.
// dy, x (rows, L); mean, rstd (rows,) from row_norm_fwd; gamma (groups * cg,) or null.
template <typename T>
void row_norm_bwd(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                  const T* rstd, const T* gamma, const RowNormParams& p);

// batch_norm: x is (n, c, s); channel j is normalised over its n * s elements.
struct BatchNormParams {
  i64 n, c, s;      // batch, channels, spatial size (1 for (N, D) inputs)
  bool training;    // batch statistics (and running-stat update) vs running statistics
  double momentum;  // running = (1 - momentum) * running + momentum * batch statistic
  double eps;       // added to the variance
};

// y (n, c, s); mean, rstd (c,) saved for backward: the batch statistics in
// training, the running ones in evaluation. In training running_mean and
// running_var (c,) are updated in place when non-null (unbiased variance,
// n * s >= 2 required); in evaluation they are read.
// x (n, c, s); gamma, beta (c,) or null.
template <typename T>
void batch_norm_fwd(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x,
                    const T* gamma, const T* beta, const BatchNormParams& p);

// dx (n, c, s); dgamma, dbeta (c,) or null.
// dy, x (n, c, s); mean, rstd (c,) from batch_norm_fwd; gamma (c,) or null.
template <typename T>
void batch_norm_bwd(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                    const T* rstd, const T* gamma, const BatchNormParams& p);

// Kernel variants: the same bodies (norm_kernels.h) compiled per ISA in
// norm.cpp (generic), norm_avx2.cpp and norm_avx512.cpp; the functions above
// pick one per call with isa_active().
template <typename T>
struct NormKernels {
  decltype(&row_norm_fwd<T>) row_fwd;
  decltype(&row_norm_bwd<T>) row_bwd;
  decltype(&batch_norm_fwd<T>) bn_fwd;
  decltype(&batch_norm_bwd<T>) bn_bwd;
};
namespace generic {
template <typename T>
NormKernels<T> norm_kernels();
}
namespace avx2 {
template <typename T>
NormKernels<T> norm_kernels();
}
namespace avx512 {
template <typename T>
NormKernels<T> norm_kernels();
}

}  // namespace fastdl::cpu
