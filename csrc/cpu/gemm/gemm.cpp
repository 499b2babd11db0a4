// GEMM loops, packing and the kernel table: the portable part of the engine
// (see gemm.h for the structure and the micro-kernel contract).
#include "gemm.h"

#include <cstring>
#include <omp.h>

#include "../../core/parallel.h"
#include "../../core/scratch.h"

namespace fastdl::cpu {

// ---------------------------------------------------------------------------
// Tuning table, one row per ISA (indexed by Isa). Chosen on an AMD EPYC Zen 5
// (2 cores, 48 KiB L1d, 1 MiB L2 per core, 32 MiB L3, ~4.1 GHz) with
// bench/tune_gemm.py at n = 512..2048, 1 and 2 threads: block sizes move the
// result by under 10% here (runs differ by ~3%); large kc (fewer C updates)
// wins at n = 2048.
//   small_mnk:  at or below, no B packing and no K blocking (operands are
//               cache-resident; packing B costs more than it saves).
//   serial_mnk: at or below, one thread (a parallel region costs ~2 us).
// The generic row was not tuned (it exists for correctness and old CPUs).
// clang-format off
static GemmKernel<float> kSgemm[] = {
  // name                           ukernel                              mr  nr   mc   kc    nc    small_mnk  serial_mnk
  {"sgemm_ukernel_4x8__generic",   generic::gemm_ukernel_4x8<float>,    4,  8,  128, 256, 4096,  64*64*64,  32*32*32},
  {"sgemm_ukernel_6x16__avx2",     avx2::sgemm_ukernel_6x16,            6, 16,  120, 512, 2048,  64*64*64,  48*48*48},
  {"sgemm_ukernel_12x32__avx512",  avx512::sgemm_ukernel_12x32,        12, 32,  144, 512, 2048,  64*64*64,  48*48*48},
};
static GemmKernel<double> kDgemm[] = {
  {"dgemm_ukernel_4x8__generic",   generic::gemm_ukernel_4x8<double>,   4,  8,  128, 256, 4096,  64*64*64,  32*32*32},
  {"dgemm_ukernel_6x8__avx2",      avx2::dgemm_ukernel_6x8,             6,  8,   72, 512, 1024,  64*64*64,  48*48*48},
  {"dgemm_ukernel_12x16__avx512",  avx512::dgemm_ukernel_12x16,        12, 16,   72, 512, 2048,  64*64*64,  48*48*48},
};
// clang-format on

template <>
const GemmKernel<float>& gemm_kernel<float>(Isa isa) { return kSgemm[static_cast<int>(isa)]; }
template <>
const GemmKernel<double>& gemm_kernel<double>(Isa isa) { return kDgemm[static_cast<int>(isa)]; }

template <typename T>
void gemm_tune(Isa isa, i64 mc, i64 kc, i64 nc, i64 small_mnk, i64 serial_mnk) {
  GemmKernel<T>& g = const_cast<GemmKernel<T>&>(gemm_kernel<T>(isa));
  FASTDL_CHECK(mc >= g.mr && mc % g.mr == 0, "gemm_tune: mc must be a positive multiple of mr");
  FASTDL_CHECK(kc >= 1 && nc >= g.nr && nc % g.nr == 0, "gemm_tune: bad kc or nc");
  g.mc = mc, g.kc = kc, g.nc = nc, g.small_mnk = small_mnk, g.serial_mnk = serial_mnk;
}
template void gemm_tune<float>(Isa, i64, i64, i64, i64, i64);
template void gemm_tune<double>(Isa, i64, i64, i64, i64, i64);

namespace {

inline i64 min64(i64 a, i64 b) { return a < b ? a : b; }

// How one gemm() call splits its work; computed the same way for sizing the
// workspace and for running.
struct Plan {
  bool small;          // no K blocking; A and B read in place where their layout allows
  i64 mc, n_ic;        // A blocks: n_ic blocks of mc rows (mc a multiple of mr)
  i64 nc;              // B block columns
  i64 n_jg;            // groups of B panels per A block (> 1 only when n_ic < threads)
  i64 ws_b, ws_a;      // workspace: packed B block, then one packed A block per thread
};

template <typename T>
Plan make_plan(const GemmKernel<T>& g, i64 m, i64 n, i64 k, int threads, bool b_unit_cols) {
  Plan p{};
  p.small = mnk_at_most(m, n, k, g.small_mnk);
  if (p.small) {
    p.ws_a = round_up(g.mr * k, 16);  // one packed row tile at a time
    p.ws_b = b_unit_cols ? 0 : k * n;
    return p;
  }
  const i64 kc = min64(g.kc, k);
  p.nc = min64(g.nc, round_up(n, g.nr));
  // Balance A blocks across threads: a multiple of `threads` blocks when there
  // are at least as many blocks as threads.
  i64 n_ic = ceil_div(m, g.mc);
  if (threads > 1 && n_ic % threads) n_ic = round_up(n_ic, threads);
  p.mc = round_up(ceil_div(m, n_ic), g.mr);
  p.n_ic = ceil_div(m, p.mc);
  const i64 n_panels = ceil_div(p.nc, g.nr);
  p.n_jg = p.n_ic < threads ? min64(n_panels, ceil_div(threads, p.n_ic)) : 1;
  p.ws_b = kc * round_up(p.nc, g.nr);
  p.ws_a = round_up(p.mc * kc, 16);  // keep each thread's block 64-byte aligned
  return p;
}

// dst: panels of mr rows; panel q holds A[q*mr + i][p] at dst[q*mr*kc + p*mr + i].
// Rows past mb are zero.
template <typename T>
void pack_a(i64 mb, i64 kc, i64 mr, const T* a, i64 rsa, i64 csa, T* dst) {
  for (i64 ir = 0; ir < mb; ir += mr) {
    const i64 rows = min64(mr, mb - ir);
    T* d = dst + ir * kc;
    const T* src = a + ir * rsa;
    if (csa == 1) {
      for (i64 i = 0; i < rows; ++i)
        for (i64 p = 0; p < kc; ++p) d[p * mr + i] = src[i * rsa + p];
    } else {
      for (i64 p = 0; p < kc; ++p)
        for (i64 i = 0; i < rows; ++i) d[p * mr + i] = src[i * rsa + p * csa];
    }
    for (i64 i = rows; i < mr; ++i)
      for (i64 p = 0; p < kc; ++p) d[p * mr + i] = T(0);
  }
}

// dst: one panel of nr columns; dst[p*nr + j] = B[p][j]. Columns past nb are zero.
template <typename T>
void pack_b_panel(i64 kc, i64 nb, i64 nr, const T* b, i64 rsb, i64 csb, T* dst) {
  if (csb == 1) {
    for (i64 p = 0; p < kc; ++p) {
      std::memcpy(dst + p * nr, b + p * rsb, sizeof(T) * nb);
      for (i64 j = nb; j < nr; ++j) dst[p * nr + j] = T(0);
    }
  } else {  // strided columns (a transposed matrix): blocks of 16 rows, so the
            // destination block being written stays in L1 (2x faster at k = 1024)
    for (i64 p0 = 0; p0 < kc; p0 += 16) {
      const i64 p1 = min64(p0 + 16, kc);
      for (i64 j = 0; j < nb; ++j)
        for (i64 p = p0; p < p1; ++p) dst[p * nr + j] = b[p * rsb + j * csb];
    }
    for (i64 p = 0; p < kc; ++p)
      for (i64 j = nb; j < nr; ++j) dst[p * nr + j] = T(0);
  }
}

// Small problems: no K blocking, and the micro-kernel reads A and B where
// they lie -- A as rows (unit column stride) or as a column panel (unit row
// stride), B as rows (the caller copies a B with strided rows). A full row
// tile of an A with neither unit stride is packed first (the kernel's
// any-stride loop is slower than packing).
template <typename T>
void gemm_small(const GemmKernel<T>& g, i64 m, i64 n, i64 k, T alpha, Mat<const T> a,
                Mat<const T> b, T beta, Mat<T> c, T* abuf) {
  for (i64 ir = 0; ir < m; ir += g.mr) {
    const i64 rows = min64(g.mr, m - ir);
    const T* ap = a.p + ir * a.rs;
    i64 rsa = a.rs, csa = a.cs;
    if (a.cs != 1 && a.rs != 1 && ukernel_rows(g.mr, rows) == rows) {
      pack_a(rows, k, g.mr, ap, a.rs, a.cs, abuf);
      ap = abuf, rsa = 1, csa = g.mr;
    }
    for (i64 jr = 0; jr < n; jr += g.nr)
      g.ukernel(rows, min64(g.nr, n - jr), k, alpha, ap, rsa, csa, b.p + jr, b.rs, beta,
                c.p + ir * c.rs + jr * c.cs, c.rs, c.cs);
  }
}

// Runs body(i) for i in [0, n): split over the enclosing team when `team`,
// else all on the calling thread. A plain `omp for` would not do for the
// latter: called from inside someone else's parallel region (threads = 1),
// an orphaned work-sharing loop binds to that region's team and each thread
// would run only part of its own, different, GEMM.
template <typename F>
inline void team_for(bool team, i64 n, const F& body) {
  if (team) {
#pragma omp for schedule(static)
    for (i64 i = 0; i < n; ++i) body(i);
  } else {
    for (i64 i = 0; i < n; ++i) body(i);
  }
}

// One B block (kc x nc at pc, jc) times all of A's rows. Called by every
// thread of gemm_packed's team (team = true: the loops are shared, with a
// barrier after each) or by one thread alone (team = false).
template <typename T>
void gemm_block(const GemmKernel<T>& g, const Plan& pl, i64 m, i64 ncur, i64 kcur, T alpha,
                Mat<const T> a, Mat<const T> b, T beta, Mat<T> c, T* bbuf, T* abuf, bool team) {
  const i64 mr = g.mr, nr = g.nr;
  const i64 n_panels = ceil_div(ncur, nr);
  team_for(team, n_panels, [&](i64 q) {
    pack_b_panel(kcur, min64(nr, ncur - q * nr), nr, b.p + q * nr * b.cs, b.rs, b.cs, bbuf + q * nr * kcur);
  });
  // (implicit barrier: the B block is complete)
  team_for(team, pl.n_ic * pl.n_jg, [&](i64 item) {
    const i64 ib = item / pl.n_jg, jg = item % pl.n_jg;
    const i64 ic = ib * pl.mc, mb = min64(pl.mc, m - ic);
    if (mb <= 0) return;
    pack_a(mb, kcur, mr, a.p + ic * a.rs, a.rs, a.cs, abuf);
    const i64 q0 = n_panels * jg / pl.n_jg, q1 = n_panels * (jg + 1) / pl.n_jg;
    for (i64 q = q0; q < q1; ++q) {
      const i64 nb = min64(nr, ncur - q * nr);
      const T* bp = bbuf + q * nr * kcur;
      for (i64 ir = 0; ir < mb; ir += mr)
        g.ukernel(min64(mr, mb - ir), nb, kcur, alpha, abuf + ir * kcur, 1, mr, bp, nr, beta,
                  c.p + (ic + ir) * c.rs + q * nr * c.cs, c.rs, c.cs);
    }
  });
  // (implicit barrier: bbuf may be overwritten by the next block)
}

template <typename T>
void gemm_packed(const GemmKernel<T>& g, const Plan& pl, i64 m, i64 n, i64 k, T alpha,
                 Mat<const T> a, Mat<const T> b, T beta, Mat<T> c, T* ws, int threads) {
  auto run = [&](int tid, bool team) {
    T* bbuf = ws;
    T* abuf = ws + pl.ws_b + tid * pl.ws_a;
    for (i64 jc = 0; jc < n; jc += pl.nc) {
      const i64 ncur = min64(pl.nc, n - jc);
      for (i64 pc = 0; pc < k; pc += g.kc) {
        const i64 kcur = min64(g.kc, k - pc);
        gemm_block(g, pl, m, ncur, kcur, alpha, Mat<const T>{a.p + pc * a.cs, a.rs, a.cs},
                   Mat<const T>{b.p + pc * b.rs + jc * b.cs, b.rs, b.cs}, pc == 0 ? beta : T(1),
                   Mat<T>{c.p + jc * c.cs, c.rs, c.cs}, bbuf, abuf, team);
      }
    }
  };
  if (threads <= 1) {
    run(0, false);
  } else {
#pragma omp parallel num_threads(threads)
    run(omp_get_thread_num(), true);
  }
}

template <typename T>
void scale_c(i64 m, i64 n, T beta, Mat<T> c) {
  for (i64 i = 0; i < m; ++i)
    for (i64 j = 0; j < n; ++j) {
      T* cij = c.p + i * c.rs + j * c.cs;
      *cij = beta == T(0) ? T(0) : beta * *cij;
    }
}

}  // namespace

template <typename T>
i64 gemm_workspace(i64 m, i64 n, i64 k, int threads) {
  const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
  if (m <= 0 || n <= 0 || k <= 0) return 0;
  const Plan pl = make_plan(g, m, n, k, threads, false);
  return pl.small ? pl.ws_a + pl.ws_b : pl.ws_b + threads * pl.ws_a;
}

template <typename T>
void gemm(i64 m, i64 n, i64 k, T alpha, Mat<const T> a, Mat<const T> b, T beta, Mat<T> c, T* ws,
          int threads) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) return scale_c(m, n, beta, c);
  const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
  const Plan pl = make_plan(g, m, n, k, threads, b.cs == 1);
  if (pl.small) {
    if (b.cs != 1) {  // B with strided columns (a transposed view): copy it to rows
      T* bcopy = ws + pl.ws_a;
      for (i64 j = 0; j < n; ++j)
        for (i64 p = 0; p < k; ++p) bcopy[p * n + j] = b.p[p * b.rs + j * b.cs];
      b = Mat<const T>{bcopy, n, 1};
    }
    return gemm_small(g, m, n, k, alpha, a, b, beta, c, ws);
  }
  gemm_packed(g, pl, m, n, k, alpha, a, b, beta, c, ws, threads);
}

template <typename T>
void gemm(i64 m, i64 n, i64 k, T alpha, Mat<const T> a, Mat<const T> b, T beta, Mat<T> c) {
  const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
  const int threads = mnk_at_most(m, n, k, g.serial_mnk) ? 1 : num_threads();
  T* ws = scratch<T>(gemm_workspace<T>(m, n, k, threads), 3);
  gemm(m, n, k, alpha, a, b, beta, c, ws, threads);
}

template <typename T>
i64 gemm_packed_b_size(i64 k, i64 n) {
  const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
  return checked_mul(k > 0 ? k : 0, round_up(n > 0 ? n : 0, g.nr));
}

template <typename T>
void gemm_pack_b(i64 k, i64 n, Mat<const T> b, T* dst) {
  const i64 nr = gemm_kernel<T>(isa_active()).nr;
  for (i64 j = 0; j < n; j += nr)
    pack_b_panel(k, min64(nr, n - j), nr, b.p + j * b.cs, b.rs, b.cs, dst + j * k);
}

template <typename T>
void gemm_panels(i64 m, i64 n, i64 k, T alpha, Mat<const T> a, Panels<T> b, T beta, Mat<T> c) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) return scale_c(m, n, beta, c);
  const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
  for (i64 jr = 0, q = 0; jr < n; jr += g.nr, ++q) {
    const i64 nb = min64(g.nr, n - jr);
    const T* panel = b.p + q * b.ps;
    for (i64 ir = 0; ir < m; ir += g.mr)
      g.ukernel(min64(g.mr, m - ir), nb, k, alpha, a.p + ir * a.rs, a.rs, a.cs, panel, b.rs, beta,
                c.p + ir * c.rs + jr * c.cs, c.rs, c.cs);
  }
}

template <typename T>
void gemm_packed_b(i64 m, i64 n, i64 k, T alpha, Mat<const T> a, const T* bp, T beta, Mat<T> c) {
  const i64 nr = gemm_kernel<T>(isa_active()).nr;
  gemm_panels<T>(m, n, k, alpha, a, Panels<T>{bp, nr, nr * k}, beta, c);
}

#define FASTDL_INSTANTIATE(T)                                                                      \
  template i64 gemm_workspace<T>(i64, i64, i64, int);                                              \
  template void gemm<T>(i64, i64, i64, T, Mat<const T>, Mat<const T>, T, Mat<T>, T*, int);         \
  template void gemm<T>(i64, i64, i64, T, Mat<const T>, Mat<const T>, T, Mat<T>);                 \
  template i64 gemm_packed_b_size<T>(i64, i64);                                                    \
  template void gemm_pack_b<T>(i64, i64, Mat<const T>, T*);                                        \
  template void gemm_packed_b<T>(i64, i64, i64, T, Mat<const T>, const T*, T, Mat<T>);             \
  template void gemm_panels<T>(i64, i64, i64, T, Mat<const T>, Panels<T>, T, Mat<T>);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
