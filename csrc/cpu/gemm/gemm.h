// fastdl's one GEMM engine: C = alpha * A @ B + beta * C on strided matrices.
//
// Everything matmul-shaped (matmul, affine, conv via im2col, transposed conv,
// attention, LSTM gates) calls gemm(). Structure, after BLIS:
//
//   gemm()                        gemm.cpp, portable
//     small problems: micro-kernel on A and B where they lie (packing only
//                     what the kernel cannot read in place)
//     otherwise, for jc in N by NC:             B block -> packed panels (shared)
//                  for pc in K by KC:
//                    for ic in M by MC:        A block -> packed panels (per thread)
//                      for jr in NC by NR:     (threads split ic blocks, then jr)
//                        for ir in MC by MR:   micro-kernel
//   micro-kernels                 ukernel_generic.cpp, ukernel_avx2.cpp, ukernel_avx512.cpp
//
// Transposed operands are just strides: packing reads any (row stride,
// column stride), so no transposed copy is ever made (the small path reads
// A and B in place when their layout allows and packs them otherwise). Results do not depend on the thread count: threads only
// split M and N; the K loop, and so each sum's order, is fixed by KC.
//
// ---------------------------------------------------------------------------
// Micro-kernel contract
//
//   C[m x n] = alpha * A[m x k] @ B[k x n] + beta * C      1 <= m <= MR, 1 <= n <= NR
//
//   A: element (i, p) at a[i*rsa + p*csa], any strides; only rows < m are
//      read. Fast when the tile is a full row tile (m == ukernel_rows(MR, m))
//      and A is a column panel (rsa == 1: what packing produces, csa = MR,
//      and what a transposed row-major matrix already is) or rows (csa == 1:
//      a row-major matrix in place); other cases take a slower loop with
//      one pointer per row.
//   B: element (p, j) at b[p*rsb + j]: rows of unit stride. Packed panels use
//      rsb = NR; the small path passes the caller's row stride. Only the
//      first n columns of a row are read.
//   C: element (i, j) at c[i*rsc + j*csc].
//
//        B panel  k x NR      ->  p
//                               +--------------+
//                               |  NR columns  |  (row p: NR contiguous values)
//        A panel  MR x k        +--------------+
//        +---------+            +--------------+
//        | MR rows |   ----->   | C tile MR x NR |
//        +---------+            +--------------+
//
//   Edges (m < MR, n < NR) are handled inside the kernel: columns of B beyond
//   n are never read (masked loads); an m-row edge runs the shortest row tile
//   that covers it, ukernel_rows(MR, m) rows (MR/3 or 2MR/3 where MR is a
//   multiple of 3). beta == 0 means C is not read
//   (it may hold NaN or garbage); k == 0 gives C = beta * C.
// ---------------------------------------------------------------------------
#pragma once

#include "../../core/common.h"
#include "../../core/isa.h"

namespace fastdl::cpu {

template <typename T>
using UkernelFn = void (*)(i64 m, i64 n, i64 k, T alpha, const T* a, i64 rsa, i64 csa, const T* b,
                           i64 rsb, T beta, T* c, i64 rsc, i64 csc);

// Rows a micro-kernel with MR rows computes for an m-row tile.
inline i64 ukernel_rows(i64 mr, i64 m) {
  if (mr % 3 != 0) return mr;
  return m <= mr / 3 ? mr / 3 : m <= 2 * mr / 3 ? 2 * mr / 3 : mr;
}

// One ISA's GEMM for one dtype: the micro-kernel and the block sizes around it.
// The values live in one table in gemm.cpp.
template <typename T>
struct GemmKernel {
  const char* name;     // e.g. "sgemm_ukernel_6x16__avx2"
  UkernelFn<T> ukernel;
  i64 mr, nr;           // micro-tile
  i64 mc, kc, nc;       // cache blocks: A block mc x kc in L2, B panel kc x nr in L1, B block kc x nc in L3
  i64 small_mnk;        // m*n*k at or below this skips packing
  i64 serial_mnk;       // m*n*k at or below this runs on one thread
};

template <typename T>
const GemmKernel<T>& gemm_kernel(Isa isa);  // the table row for an ISA

// Re-tuning on a new machine (bench/tune_gemm.py) only: overwrites a table row's
// block sizes. Not safe while another thread runs a GEMM.
template <typename T>
void gemm_tune(Isa isa, i64 mc, i64 kc, i64 nc, i64 small_mnk, i64 serial_mnk);

// A strided matrix operand: element (i, j) at p[i*rs + j*cs].
template <typename T>
struct Mat {
  T* p;
  i64 rs, cs;
};

// Workspace (in elements of T) that gemm() needs for these sizes and threads.
template <typename T>
i64 gemm_workspace(i64 m, i64 n, i64 k, int threads);

// C (m x n) = alpha * A (m x k) @ B (k x n) + beta * C, using `threads`
// threads (1: no parallel region, safe inside one) and `ws`, at least
// gemm_workspace(m, n, k, threads) elements, 64-byte aligned. beta == 0 never
// reads C. C must not overlap A or B.
template <typename T>
void gemm(i64 m, i64 n, i64 k, T alpha, Mat<const T> a, Mat<const T> b, T beta, Mat<T> c,
          T* ws, int threads);

// The same with the active ISA's kernel, workspace from the calling thread's
// scratch (slot 3) and the process thread count: the entry used by op code.
template <typename T>
void gemm(i64 m, i64 n, i64 k, T alpha, Mat<const T> a, Mat<const T> b, T beta, Mat<T> c);

// Pre-packed B: a right operand packed once and multiplied many times (the
// recurrent weights of rnn/lstm, reused at every time step), so no call
// re-packs it. The layout is the one gemm() packs into, for the active ISA's
// kernel (nr = gemm_kernel<T>(isa_active()).nr): panels of nr columns over
// all k rows, panel q holding B[p][q*nr + j] at dst[q*nr*k + p*nr + j], and
// columns past n zero. dst + q*nr*k is the packed form of columns q*nr.. of B.
template <typename T>
i64 gemm_packed_b_size(i64 k, i64 n);  // elements of the packed copy

template <typename T>
void gemm_pack_b(i64 k, i64 n, Mat<const T> b, T* dst);

// C (m x n) = alpha * A (m x k) @ Bp + beta * C, with Bp a packed B (or one
// offset by whole panels) of at least n columns and exactly k rows. A is read
// in place (any strides). One thread, no workspace: for callers that split
// the work themselves. beta == 0 never reads C.
template <typename T>
void gemm_packed_b(i64 m, i64 n, i64 k, T alpha, Mat<const T> a, const T* bp, T beta, Mat<T> c);

// B as the micro-kernel reads it: panels of nr columns with unit column
// stride, panel q's row p at p + q*ps + p*rs. A packed B of k rows is
// {bp, nr, nr*k} (a block of its rows p0.. is {bp + p0*nr, nr, nr*k}); a B
// lying in memory with unit column stride is read in place as {b, rsb, nr}.
template <typename T>
struct Panels {
  const T* p;
  i64 rs, ps;
};

// C (m x n) = alpha * A (m x k) @ B + beta * C with B given as panels and A
// read in place (any strides; fast as a column panel, rsa == 1, or as rows,
// csa == 1): no packing, no workspace, one thread, for callers that split
// the work and block K themselves (operands reused from cache, or used
// once). gemm_packed_b is the packed case. beta == 0 never reads C.
template <typename T>
void gemm_panels(i64 m, i64 n, i64 k, T alpha, Mat<const T> a, Panels<T> b, T beta, Mat<T> c);

// Micro-kernels (one per ISA and dtype).
namespace generic {
template <typename T>
void gemm_ukernel_4x8(i64 m, i64 n, i64 k, T alpha, const T* a, i64 rsa, i64 csa, const T* b,
                      i64 rsb, T beta, T* c, i64 rsc, i64 csc);
}
namespace avx2 {
void sgemm_ukernel_6x16(i64 m, i64 n, i64 k, float alpha, const float* a, i64 rsa, i64 csa,
                        const float* b, i64 rsb, float beta, float* c, i64 rsc, i64 csc);
void dgemm_ukernel_6x8(i64 m, i64 n, i64 k, double alpha, const double* a, i64 rsa, i64 csa,
                       const double* b, i64 rsb, double beta, double* c, i64 rsc, i64 csc);
}  // namespace avx2
namespace avx512 {
void sgemm_ukernel_12x32(i64 m, i64 n, i64 k, float alpha, const float* a, i64 rsa, i64 csa,
                         const float* b, i64 rsb, float beta, float* c, i64 rsc, i64 csc);
void dgemm_ukernel_12x16(i64 m, i64 n, i64 k, double alpha, const double* a, i64 rsa, i64 csa,
                         const double* b, i64 rsb, double beta, double* c, i64 rsc, i64 csc);
}  // namespace avx512

}  // namespace fastdl::cpu
