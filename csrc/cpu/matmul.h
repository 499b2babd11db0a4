// matmul family: batched matmul with broadcasting, and affine (x @ w + b).
// Forward directly above backward; all kernels overwrite their outputs.
// Arithmetic is the GEMM engine's (gemm/gemm.h); this file only walks batches.
#pragma once

#include <vector>

#include "../core/common.h"

namespace fastdl::cpu {

// c[o] = sum over r of a[o, r] @ b[o, r], for every outer batch index o and
// reduced batch index r (no reduced dims: c[o] = a[o] @ b[o]).
// The forward pass has no reduced dims; the backward pass of a broadcast
// operand sums over the dims it was broadcast along.
struct BmmParams {
  i64 m, n, k;                 // a[.] (m, k), b[.] (k, n), c[.] (m, n)
  i64 rsa, csa, rsb, csb;      // matrix element strides of a and b (any, incl. transposed views)
  i64 rsc, csc;                // of c
  std::vector<i64> batch;      // batch dims: outer dims, then the n_reduce reduced dims
  std::vector<i64> sa, sb, sc; // element strides per batch dim (sc unused on reduced dims)
  int n_reduce;                // trailing batch dims summed into c, in index order
};

template <typename T>
void bmm(T* c, const T* a, const T* b, const BmmParams& p);

// y (n, m) = x (n, d) @ w (d, m) + bias (m,)     bias may be null
// x element (i, p) at x[i*rsx + p*csx], w (p, j) at w[p*rsw + j*csw]; y contiguous.
template <typename T>
void affine_fwd(T* y, const T* x, const T* w, const T* bias, i64 n, i64 d, i64 m, i64 rsx,
                i64 csx, i64 rsw, i64 csw);

// dx (n, d) = dy @ w^T;  dw (d, m) = x^T @ dy;  dbias (m,) = sum over rows of dy (if non-null)
// dy, dx, dw contiguous; x, w strided as in affine_fwd.
template <typename T>
void affine_bwd(T* dx, T* dw, T* dbias, const T* dy, const T* x, const T* w, i64 n, i64 d, i64 m,
                i64 rsx, i64 csx, i64 rsw, i64 csw);

}  // namespace fastdl::cpu
