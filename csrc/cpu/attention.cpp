// Flash-style scaled dot-product attention (contract: attention.h).
//
// Transposed score tiles. For query tile i (br queries) and key tile j (bc
// keys) the scores are held as st = scale * k_j @ q_i^T, a (bc x br) buffer:
// row c is one key, column r one query. Softmax runs over keys, i.e. down
// the columns, so every per-query statistic (max, sum, lse, delta) is a
// vector over r updated by vertical loops, which the compiler vectorises
// without reordering any sum. Every product is a run of GEMM micro-kernel
// calls (tile_gemm below, gemm.h's contract) on operands read in place,
// except q_i^T and dout_i^T, which are packed once into the micro-kernel's
// B panels. (cpu::gemm() would copy a transposed B on every small product
// and repack both operands on every large one.) One variant: the ISA is the
// micro-kernel's (gemm_kernel(isa_active())); the elementwise loops are
// portable and exp is vmath.h's vexp.
//
// Forward, per (head, query tile i), keys in order (online softmax):
//   st  = scale k_j q_i^T + mask   (-inf above the causal diagonal)
//   mx  = max(m, column max of st);  corr = exp(m - mx);  st = exp(st - mx)
//   l   = corr * l + column sum of st;   o = diag(corr) o + st^T v_j;   m = mx
//   out = o / l,  lse = m + log l   (m == -inf: every key masked -> out 0, lse -inf)
// Backward, per (head, key tile j, query tile i), with delta = rowsum(dout * out):
//   st  = exp(scale k_j q_i^T + mask - lse_i)              P^T  (bc x br)
//   dv_j += st @ dout_i;   dpt = v_j @ dout_i^T;   dpt = st * (dpt - delta_i)   dS^T
//   dk_j += scale dpt @ q_i;   dq_i += scale dpt^T @ k_j
// Causal attention skips tile pairs whose keys all follow their queries.
//
// Threads and determinism. The forward splits (head, query tile) pairs:
// independent outputs. In the backward each dk_j and dv_j adds its query
// tiles in the order i = 0, 1, ... and each dq_i its key tiles in the order
// j = 0, 1, ..., every addition one micro-kernel call with beta = 1. With
// enough heads for the threads (one_pass) each thread runs whole heads; with
// few heads two passes recompute the tile pairs, the first split by key
// tiles (dk, dv), the second by query tiles (dq). Both make the same
// micro-kernel calls on the same values in the same order per output, so
// results are bit-identical for any thread count.
#include "attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "../core/isa.h"
#include "../core/parallel.h"
#include "../core/scratch.h"
#include "gemm/gemm.h"
#include "vmath.h"

namespace fastdl::cpu {

namespace {

// Tile sizes: br queries x bc keys per score tile, rounded up so that br is
// a multiple of lcm(mr, nr) and bc of mr: the tile products are whole
// micro-tiles (a query tile is the n of k_j q_i^T and the m of st^T v_j).
// On Zen 5 (AVX-512, fp32, (8,8,512,64) and (4,8,2048,64) fwd+bwd, one
// thread) every br, bc in {48, 96, 192} ran within 3% of the others, with
// the portable vexp and with a SIMD exp stand-in; 96 x 96 keeps a score
// tile at 36 KiB (fp32) and the k of the P and dS products at 96.
constexpr i64 kTargetBr = 96, kTargetBc = 96;

template <typename T>
struct Tiles {
  const GemmKernel<T>* g;  // the active ISA's micro-kernel
  i64 br, bc;              // query rows, keys per tile
};

template <typename T>
Tiles<T> tiles() {
  const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
  i64 a = g.mr, b = g.nr;
  while (b) a %= b, std::swap(a, b);  // a = gcd(mr, nr)
  return {&g, round_up(kTargetBr, g.mr / a * g.nr), round_up(kTargetBc, g.mr)};
}

template <typename T>
constexpr T kInf = std::numeric_limits<T>::infinity();

// C (m x n) = alpha A (m x k) @ B (k x n) + beta C through the engine's
// gemm_panels (one micro-kernel call per micro-tile). A (i, p) at
// a[i*rsa + p*csa]; B is column panels of nr: row p of panel q at
// b[q*bps + p*rsb], unit column stride (row-major B: bps = nr; packed panels:
// rsb = nr, bps = k*nr); C (i, j) at c[i*rsc + j].
template <typename T>
void tile_gemm(i64 m, i64 n, i64 k, T alpha, const T* a, i64 rsa, i64 csa, const T* b, i64 rsb,
               i64 bps, T beta, T* c, i64 rsc) {
  gemm_panels<T>(m, n, k, alpha, Mat<const T>{a, rsa, csa}, Panels<T>{b, rsb, bps}, beta, Mat<T>{c, rsc, 1});
}

// dst: x (n x d, row-major) transposed into B panels of nr rows of x, npad
// (a multiple of nr) rows in all: x[q*nr + r][p] at dst[q*d*nr + p*nr + r];
// rows n..npad-1 are zeros.
template <typename T>
void pack_panels(T* dst, const T* x, i64 n, i64 npad, i64 d, i64 nr) {
  for (i64 q0 = 0; q0 < npad; q0 += nr) {
    T* pd = dst + q0 * d;
    const i64 rows = std::clamp<i64>(n - q0, 0, nr);
    for (i64 p = 0; p < d; ++p) {
      for (i64 r = 0; r < rows; ++r) pd[p * nr + r] = x[(q0 + r) * d + p];
      for (i64 r = rows; r < nr; ++r) pd[p * nr + r] = T(0);
    }
  }
}

// st (nc x npad, row stride npad) = scale k_j q_i^T + mask, -inf where the
// key follows the query (causal). Keys j0 .. j0+nc-1 (kj: their rows of k),
// queries i0 .. i0+m-1 (qp: their packed panels; columns m..npad-1 are
// padding: zero queries, no mask). mask: this head's matrix, or null.
template <typename T>
void score_tile(const Tiles<T>& t, T* st, const T* kj, const T* qp, const T* mask, i64 i0, i64 m,
                i64 npad, i64 j0, i64 nc, const SdpaParams& p) {
  const i64 nr = t.g->nr;
  tile_gemm(nc, npad, p.d, T(p.scale), kj, p.d, 1, qp, nr, p.d * nr, T(0), st, npad);
  if (mask) {
    for (i64 c = 0; c < nc; ++c) {
      const T* mc = mask + (j0 + c) * p.msc + i0 * p.msr;
      T* s = st + c * npad;
      for (i64 r = 0; r < m; ++r) s[r] += mc[r * p.msr];
    }
  }
  if (p.causal && j0 + nc - 1 > i0) {  // the tile crosses the diagonal
    for (i64 c = 0; c < nc; ++c) {
      T* s = st + c * npad;
      const i64 hidden = std::clamp<i64>(j0 + c - i0, 0, m);  // queries before key j0 + c
      for (i64 r = 0; r < hidden; ++r) s[r] = -kInf<T>;
    }
  }
}

// Query tiles in causal order 0, n-1, 1, n-2, ...: contiguous runs of tasks
// then mix cheap (early) and costly (late) tiles, balancing the threads.
inline i64 zigzag(i64 t, i64 n) { return t % 2 == 0 ? t / 2 : n - 1 - t / 2; }

// ---------------------------------------------------------------------------
// forward

// Per-thread forward workspace, in elements of T (offsets 16-aligned).
struct FwdWs {
  i64 qp, st, vec, size;  // packed q_i^T (br x d), scores (bc x br), 4 vectors of br
  FwdWs(i64 br, i64 bc, i64 d) {
    qp = 0;
    st = round_up(checked_mul(br, d), 16);
    vec = st + round_up(checked_mul(bc, br), 16);
    size = vec + round_up(4 * br, 16);
  }
};

// Queries i0 .. i0+m-1 of one head (pointers offset to the head): out (lq, dv)
// and lse (lq,) rows from q (lq, d), k (lk, d), v (lk, dv) and the head's mask.
template <typename T>
void fwd_query_tile(const Tiles<T>& t, T* out, T* lse, const T* q, const T* k, const T* v,
                    const T* mask, i64 i0, i64 m, const SdpaParams& p, T* ws, const FwdWs& w) {
  const GemmKernel<T>& g = *t.g;
  const i64 d = p.d, dv = p.dv, br = t.br, npad = round_up(m, g.nr);
  T* qp = ws + w.qp;
  T* st = ws + w.st;
  T* rmax = ws + w.vec;  // running max of each query's scores
  T* rsum = rmax + br;   // running sum of exp(score - rmax)
  T* base = rsum + br;   // this tile's shift: the new max, 0 while every key is masked
  T* corr = base + br;   // exp(old max - new max): rescales rsum and the out row
  T* o = out + i0 * dv;  // (m x dv) accumulated in place

  const i64 kend = p.causal ? std::min(p.lk, i0 + m) : p.lk;  // keys any of these queries sees
  if (kend == 0) {
    std::fill(o, o + m * dv, T(0));
    std::fill(lse + i0, lse + i0 + m, -kInf<T>);
    return;
  }
  pack_panels(qp, q + i0 * d, m, npad, d, g.nr);
  for (i64 r = 0; r < npad; ++r) rmax[r] = -kInf<T>, rsum[r] = T(0);

  for (i64 j0 = 0; j0 < kend; j0 += t.bc) {
    const i64 nc = std::min(t.bc, kend - j0);
    score_tile(t, st, k + j0 * d, qp, mask, i0, m, npad, j0, nc, p);
    for (i64 r = 0; r < npad; ++r) base[r] = rmax[r];
    for (i64 c = 0; c < nc; ++c) {
      const T* s = st + c * npad;
      for (i64 r = 0; r < npad; ++r) base[r] = s[r] > base[r] ? s[r] : base[r];
    }
    for (i64 r = 0; r < npad; ++r) {
      const T mx = base[r];
      base[r] = mx == -kInf<T> ? T(0) : mx;
      corr[r] = rmax[r] - base[r];
      rmax[r] = mx;
    }
    vexp(corr, corr, npad);
    for (i64 c = 0; c < nc; ++c) {
      T* s = st + c * npad;
      for (i64 r = 0; r < npad; ++r) s[r] -= base[r];
    }
    vexp(st, st, nc * npad);
    for (i64 r = 0; r < npad; ++r) rsum[r] *= corr[r];
    for (i64 c = 0; c < nc; ++c) {
      const T* s = st + c * npad;
      for (i64 r = 0; r < npad; ++r) rsum[r] += s[r];
    }
    if (j0 > 0)
      for (i64 r = 0; r < m; ++r)
        if (corr[r] != T(1))
          for (i64 e = 0; e < dv; ++e) o[r * dv + e] *= corr[r];
    // o (m x dv) (+)= st^T (m x nc) @ v_j (nc x dv)
    tile_gemm(m, dv, nc, T(1), st, 1, npad, v + j0 * dv, dv, g.nr, j0 > 0 ? T(1) : T(0), o, dv);
  }
  for (i64 r = 0; r < m; ++r) {
    T* orow = o + r * dv;
    // Every key masked: the max stayed -inf (else its own term makes rsum >= 1).
    // A NaN score is skipped by the max but makes rsum NaN: that row divides to NaN.
    if (rmax[r] == -kInf<T> && rsum[r] == rsum[r]) {
      std::fill(orow, orow + dv, T(0));
      lse[i0 + r] = -kInf<T>;
    } else {
      const T inv = T(1) / rsum[r];
      for (i64 e = 0; e < dv; ++e) orow[e] *= inv;
      lse[i0 + r] = rmax[r] + std::log(rsum[r]);
    }
  }
}

// ---------------------------------------------------------------------------
// backward

// One head's arrays, offset to the head.
template <typename T>
struct Head {
  const T *q, *k, *v, *dout, *mask, *lse, *delta;
  T *dq, *dk, *dv;
  const T *qp, *dop;  // q^T and dout^T packed in B panels (round_up(lq, nr) queries)
};

template <typename T>
Head<T> head(i64 b, T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
             const T* mask, const T* lse, const T* delta, const SdpaParams& p) {
  const i64 qo = b * p.lq, ko = b * p.lk;
  return {q + qo * p.d,   k + ko * p.d,   v + ko * p.dv, dout + qo * p.dv,
          mask ? mask + p.mask_index[b] * p.msb : nullptr,   lse + qo,
          delta + qo,     dq + qo * p.d,  dk + ko * p.d, dv + ko * p.dv, nullptr, nullptr};
}

// Per-thread backward workspace, in elements of T (offsets 16-aligned).
struct BwdWs {
  // packed q^T and dout^T of a head, P^T and dS^T tiles (bc x br), 2 vectors of br
  i64 qp, dop, st, dpt, vec, size;
  BwdWs(i64 br, i64 bc, i64 lqp, i64 d, i64 dv) {
    qp = 0;
    dop = round_up(checked_mul(lqp, d), 16);
    st = dop + round_up(checked_mul(lqp, dv), 16);
    dpt = st + round_up(checked_mul(bc, br), 16);
    vec = dpt + round_up(checked_mul(bc, br), 16);
    size = vec + round_up(2 * br, 16);
  }
};

// Tile pair (queries i0.., m; keys j0.., nc): adds to dk_j and dv_j (kv) and/or to dq_i (q).
template <typename T>
void bwd_tile(const Tiles<T>& t, const Head<T>& h, i64 i0, i64 m, i64 j0, i64 nc, bool kv, bool q,
              const SdpaParams& p, T* ws, const BwdWs& w) {
  const GemmKernel<T>& g = *t.g;
  const i64 d = p.d, dv = p.dv, nr = g.nr, npad = round_up(m, nr);
  T* st = ws + w.st;
  T* dpt = ws + w.dpt;
  T* shift = ws + w.vec;  // lse, +inf for a query with every key masked and for padding: P = 0
  T* delta = shift + t.br;

  score_tile(t, st, h.k + j0 * d, h.qp + i0 * d, h.mask, i0, m, npad, j0, nc, p);
  for (i64 r = 0; r < npad; ++r) {
    shift[r] = r < m && h.lse[i0 + r] != -kInf<T> ? h.lse[i0 + r] : kInf<T>;
    delta[r] = r < m ? h.delta[i0 + r] : T(0);
  }
  for (i64 c = 0; c < nc; ++c) {
    T* s = st + c * npad;
    for (i64 r = 0; r < npad; ++r) s[r] -= shift[r];
  }
  vexp(st, st, nc * npad);  // P^T
  if (kv)  // dv_j (nc x dv) += P^T (nc x m) @ dout_i (m x dv)
    tile_gemm(nc, dv, m, T(1), st, npad, 1, h.dout + i0 * dv, dv, nr, T(1), h.dv + j0 * dv, dv);
  // dpt (nc x npad) = v_j (nc x dv) @ dout_i^T (dv x npad)
  tile_gemm(nc, npad, dv, T(1), h.v + j0 * dv, dv, 1, h.dop + i0 * dv, nr, dv * nr, T(0), dpt,
            npad);
  for (i64 c = 0; c < nc; ++c) {
    const T* s = st + c * npad;
    T* ds = dpt + c * npad;
    for (i64 r = 0; r < npad; ++r) ds[r] = s[r] * (ds[r] - delta[r]);  // dS^T
  }
  const T scale = T(p.scale);
  if (kv)  // dk_j (nc x d) += scale dS^T (nc x m) @ q_i (m x d)
    tile_gemm(nc, d, m, scale, dpt, npad, 1, h.q + i0 * d, d, nr, T(1), h.dk + j0 * d, d);
  if (q)  // dq_i (m x d) += scale dS (m x nc) @ k_j (nc x d)
    tile_gemm(m, d, nc, scale, dpt, 1, npad, h.k + j0 * d, d, nr, T(1), h.dq + i0 * d, d);
}

// Backward with enough heads for the threads: whole heads per thread, one pass.
inline bool one_pass(i64 batch, int threads) {
  return threads == 1 || 4 * batch >= 3 * threads * ceil_div(batch, threads);
}

}  // namespace

template <typename T>
void sdpa_fwd(T* out, T* lse, const T* q, const T* k, const T* v, const T* mask,
              const SdpaParams& p) {
  FASTDL_CHECK(p.batch >= 0 && p.lq >= 0 && p.lk >= 0 && p.d >= 0 && p.dv >= 0,
               "sdpa_fwd: negative size");
  FASTDL_CHECK(!mask || p.mask_index, "sdpa_fwd: mask without mask_index");
  if (p.batch == 0 || p.lq == 0) return;
  const Tiles<T> t = tiles<T>();
  const i64 n_qt = ceil_div(p.lq, t.br);
  const i64 tasks = checked_mul(p.batch, n_qt);
  const int threads = static_cast<int>(std::min<i64>(num_threads(), tasks));
  const FwdWs w(t.br, t.bc, p.d);
  T* ws = scratch<T>(checked_mul(w.size, threads), 0);
  parallel_for(tasks, 1, threads, [&](i64 t0, i64 t1) {
    T* mine = ws + omp_get_thread_num() * w.size;
    for (i64 task = t0; task < t1; ++task) {
      const i64 b = task / n_qt, it = p.causal ? zigzag(task % n_qt, n_qt) : task % n_qt;
      const i64 i0 = it * t.br, qo = b * p.lq, ko = b * p.lk;
      fwd_query_tile(t, out + qo * p.dv, lse + qo, q + qo * p.d, k + ko * p.d, v + ko * p.dv,
                     mask ? mask + p.mask_index[b] * p.msb : nullptr, i0,
                     std::min(t.br, p.lq - i0), p, mine, w);
    }
  });
}

template <typename T>
void sdpa_bwd(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
              const T* mask, const T* out, const T* lse, const SdpaParams& p) {
  FASTDL_CHECK(p.batch >= 0 && p.lq >= 0 && p.lk >= 0 && p.d >= 0 && p.dv >= 0,
               "sdpa_bwd: negative size");
  FASTDL_CHECK(!mask || p.mask_index, "sdpa_bwd: mask without mask_index");
  if (p.batch == 0) return;
  const Tiles<T> t = tiles<T>();
  const i64 nr = t.g->nr, lqp = round_up(p.lq, nr);
  const i64 n_qt = ceil_div(p.lq, t.br), n_kt = ceil_div(p.lk, t.bc);
  const int threads = num_threads();
  const BwdWs w(t.br, t.bc, lqp, p.d, p.dv);
  T* ws = scratch<T>(checked_mul(w.size, threads), 0);
  T* delta = scratch<T>(checked_mul(p.batch, p.lq), 1);

  // delta (batch, lq) = rowsum(dout * out)
  parallel_for(p.batch * p.lq, 256, threads, [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; ++r) {
      T s = T(0);
      for (i64 e = 0; e < p.dv; ++e) s += dout[r * p.dv + e] * out[r * p.dv + e];
      delta[r] = s;
    }
  });

  // This thread's packed q^T and dout^T of head b (repacked when b changes).
  auto packed = [&](i64 b, i64& cached, T* mine) {
    Head<T> h = head(b, dq, dk, dv, dout, q, k, v, mask, lse, delta, p);
    h.qp = mine + w.qp;
    h.dop = mine + w.dop;
    if (cached != b) {
      pack_panels(mine + w.qp, h.q, p.lq, lqp, p.d, nr);
      pack_panels(mine + w.dop, h.dout, p.lq, lqp, p.dv, nr);
      cached = b;
    }
    return h;
  };
  auto rows = [&](i64 it) { return std::min(t.br, p.lq - it * t.br); };
  auto keys = [&](i64 jt) { return std::min(t.bc, p.lk - jt * t.bc); };
  // Tile pair skipped by causal attention: every key after every query.
  auto hidden = [&](i64 it, i64 jt) { return p.causal && jt * t.bc > it * t.br + rows(it) - 1; };

  if (one_pass(p.batch, threads)) {
    parallel_for(p.batch, 1, threads, [&](i64 b0, i64 b1) {
      T* mine = ws + omp_get_thread_num() * w.size;
      i64 cached = -1;
      for (i64 b = b0; b < b1; ++b) {
        const Head<T> h = packed(b, cached, mine);
        std::fill(h.dq, h.dq + p.lq * p.d, T(0));
        std::fill(h.dk, h.dk + p.lk * p.d, T(0));
        std::fill(h.dv, h.dv + p.lk * p.dv, T(0));
        for (i64 jt = 0; jt < n_kt; ++jt)
          for (i64 it = 0; it < n_qt; ++it)
            if (!hidden(it, jt))
              bwd_tile(t, h, it * t.br, rows(it), jt * t.bc, keys(jt), true, true, p, mine, w);
      }
    });
    return;
  }
  // Pass 1: dk, dv split by (head, key tile).
  parallel_for(p.batch * n_kt, 1, threads, [&](i64 t0, i64 t1) {
    T* mine = ws + omp_get_thread_num() * w.size;
    i64 cached = -1;
    for (i64 task = t0; task < t1; ++task) {
      const i64 b = task / n_kt, jt = p.causal ? zigzag(task % n_kt, n_kt) : task % n_kt;
      const Head<T> h = packed(b, cached, mine);
      const i64 j0 = jt * t.bc, nc = keys(jt);
      std::fill(h.dk + j0 * p.d, h.dk + (j0 + nc) * p.d, T(0));
      std::fill(h.dv + j0 * p.dv, h.dv + (j0 + nc) * p.dv, T(0));
      for (i64 it = 0; it < n_qt; ++it)
        if (!hidden(it, jt)) bwd_tile(t, h, it * t.br, rows(it), j0, nc, true, false, p, mine, w);
    }
  });
  // Pass 2: dq split by (head, query tile).
  parallel_for(p.batch * n_qt, 1, threads, [&](i64 t0, i64 t1) {
    T* mine = ws + omp_get_thread_num() * w.size;
    i64 cached = -1;
    for (i64 task = t0; task < t1; ++task) {
      const i64 b = task / n_qt, it = p.causal ? zigzag(task % n_qt, n_qt) : task % n_qt;
      const Head<T> h = packed(b, cached, mine);
      const i64 i0 = it * t.br, m = rows(it);
      std::fill(h.dq + i0 * p.d, h.dq + (i0 + m) * p.d, T(0));
      for (i64 jt = 0; jt < n_kt; ++jt)
        if (!hidden(it, jt)) bwd_tile(t, h, i0, m, jt * t.bc, keys(jt), false, true, p, mine, w);
    }
  });
}

#define FASTDL_INSTANTIATE(T)                                                                   \
  template void sdpa_fwd<T>(T*, T*, const T*, const T*, const T*, const T*, const SdpaParams&); \
  template void sdpa_bwd<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,       \
                            const T*, const T*, const SdpaParams&);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
