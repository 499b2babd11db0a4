// matmul family: batch walking around gemm(). See matmul.h.
//
// Threads: a batch with at least as many matrices as threads runs one
// single-threaded GEMM per matrix, matrices split across threads; a short
// batch runs its GEMMs one after another, each using every thread. Either
// way each output element is summed in the same order, so results do not
// depend on the thread count.
#include "matmul.h"

#include <omp.h>

#include "../core/parallel.h"
#include "../core/scratch.h"
#include "gemm/gemm.h"
#include "reduce.h"

namespace fastdl::cpu {

namespace {

// Element offset of flat batch index `idx` over dims [d0, d1) of `shape`.
inline i64 batch_offset(i64 idx, const std::vector<i64>& shape, const std::vector<i64>& stride,
                        int d0, int d1) {
  i64 off = 0;
  for (int d = d1 - 1; d >= d0; --d) {
    off += (idx % shape[d]) * stride[d];
    idx /= shape[d];
  }
  return off;
}

}  // namespace

template <typename T>
void bmm(T* c, const T* a, const T* b, const BmmParams& p) {
  const int nd = static_cast<int>(p.batch.size()), split = nd - p.n_reduce;
  i64 n_outer = 1, n_inner = 1;
  for (int d = 0; d < split; ++d) n_outer *= p.batch[d];
  for (int d = split; d < nd; ++d) n_inner *= p.batch[d];
  if (n_outer == 0 || p.m == 0 || p.n == 0) return;

  // All GEMMs of one outer index accumulate into the same c[o], in order r = 0, 1, ...
  auto run_outer = [&](i64 o, T* ws, int threads) {
    T* co = c + batch_offset(o, p.batch, p.sc, 0, split);
    const T* ao = a + batch_offset(o, p.batch, p.sa, 0, split);
    const T* bo = b + batch_offset(o, p.batch, p.sb, 0, split);
    if (n_inner == 0) {  // sum over an empty batch
      for (i64 i = 0; i < p.m; ++i)
        for (i64 j = 0; j < p.n; ++j) co[i * p.rsc + j * p.csc] = T(0);
      return;
    }
    for (i64 r = 0; r < n_inner; ++r) {
      const T* ar = ao + batch_offset(r, p.batch, p.sa, split, nd);
      const T* br = bo + batch_offset(r, p.batch, p.sb, split, nd);
      const Mat<const T> am{ar, p.rsa, p.csa}, bm{br, p.rsb, p.csb};
      const Mat<T> cm{co, p.rsc, p.csc};
      if (ws)
        gemm<T>(p.m, p.n, p.k, T(1), am, bm, r == 0 ? T(0) : T(1), cm, ws, threads);
      else
        gemm<T>(p.m, p.n, p.k, T(1), am, bm, r == 0 ? T(0) : T(1), cm);
    }
  };

  const int threads = num_threads();
  const bool split_batch =
      threads > 1 && n_outer >= threads && (n_outer % threads == 0 || n_outer >= 4 * threads);
  if (!split_batch) {
    for (i64 o = 0; o < n_outer; ++o) run_outer(o, nullptr, threads);
    return;
  }
  const i64 ws_each = round_up(gemm_workspace<T>(p.m, p.n, p.k, 1), 16);
  T* ws = scratch<T>(checked_mul(ws_each, threads), 2);
  parallel_for(n_outer, 1, threads, [&](i64 o0, i64 o1) {
    T* mine = ws + omp_get_thread_num() * ws_each;
    for (i64 o = o0; o < o1; ++o) run_outer(o, mine, 1);
  });
}

template <typename T>
void affine_fwd(T* y, const T* x, const T* w, const T* bias, i64 n, i64 d, i64 m, i64 rsx,
                i64 csx, i64 rsw, i64 csw) {
  if (bias)
    for (i64 i = 0; i < n; ++i)
      for (i64 j = 0; j < m; ++j) y[i * m + j] = bias[j];
  gemm<T>(n, m, d, T(1), {x, rsx, csx}, {w, rsw, csw}, bias ? T(1) : T(0), {y, m, 1});
}

template <typename T>
void affine_bwd(T* dx, T* dw, T* dbias, const T* dy, const T* x, const T* w, i64 n, i64 d, i64 m,
                i64 rsx, i64 csx, i64 rsw, i64 csw) {
  gemm<T>(n, d, m, T(1), {dy, m, 1}, {w, csw, rsw}, T(0), {dx, d, 1});  // dy @ w^T
  gemm<T>(d, m, n, T(1), {x, csx, rsx}, {dy, m, 1}, T(0), {dw, m, 1});  // x^T @ dy
  if (dbias) sum_rows(dbias, dy, n, m, m);
}

#define FASTDL_INSTANTIATE(T)                                                                      \
  template void bmm<T>(T*, const T*, const T*, const BmmParams&);                                  \
  template void affine_fwd<T>(T*, const T*, const T*, const T*, i64, i64, i64, i64, i64, i64, i64); \
  template void affine_bwd<T>(T*, T*, T*, const T*, const T*, const T*, i64, i64, i64, i64, i64,    \
                              i64, i64);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
