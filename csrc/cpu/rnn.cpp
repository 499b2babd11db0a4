// rnn family: tanh RNN and LSTM sequences, forward and backward. See rnn.h.
//
// Forward, one call per sequence (G gates; pre (N, G*H) the pre-activations of a step):
//   for t = 0..T-1:
//     pre = x[t] @ wx + h[t-1] @ wh            the input projection inside the step
//     h[t] (, c[t]) = cell(pre + b, ...)       fused pointwise, on the tile just computed
// Backward (BPTT), one call:
//   for t = T-1..-1:
//     dh = dpre[t+1] @ wh^T                    dh0 at t = -1
//     dx[t+1] = dpre[t+1] @ wx^T
//     dpre[t] (, dc) = cell_bwd(dh + dhs[t], ...)
//   dwx = x^T @ dpre, dwh = [h0; hs[:-1]]^T @ dpre, db = sum_rows(dpre)
//                                              over all steps at once
// GEMM operands: the per-step products read their left operand (x[t],
// h[t-1], dpre[t+1]: a few rows, hot in cache) in place and the weights as
// B packed once per call (gemm_pack_b; wh^T and wx^T for backward) -- read
// in place instead for a single step (the cells), where packing would cost
// more than it saves. The input projection and dx run step by step on data
// still in cache rather than as large GEMMs over all steps, whose operands
// would be re-packed from memory. The weight gradients read x^T and hs^T as
// column panels and dpre's rows as B, all in place (weight_grads).
// What forward keeps for backward: the tanh RNN nothing beyond hs (the
// derivative of tanh is 1 - h^2); the LSTM the activated gates (T, N, 4H) and
// the cell states (T, N, H) (tanh(c) is recomputed, one vtanh per step).
//
// Threads: one parallel region for the whole sequence. Every thread owns
// the same tile of (rows, hidden units) at every step, for all G gates of
// its units, so the pointwise cell runs right after the thread's own GEMM
// tiles with no barrier between them (and a tile of dx's columns): with
// enough rows a block of rows and all units, so that steps need no barrier
// at all (tile_of), else all rows of a block of units and a barrier per
// step. The weight gradients split their columns. Splits depend only on
// the shape and the thread count, and no element's arithmetic depends on
// them (each GEMM element sums over k in an order fixed by the shape), so
// results are bit-identical for any thread count.
#include "rnn.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "../core/parallel.h"
#include "../core/scratch.h"
#include "gemm/gemm.h"
#include "reduce.h"
#include "rnn_simd.h"

namespace fastdl::cpu {

namespace {

// Rows [r0, r1) of the batch and hidden units [u0, u1) of one step.
struct Tile {
  i64 r0, r1, u0, u1;
  bool empty() const { return r0 >= r1 || u0 >= u1; }
};

// Thread tid's tile of an (N x H) step. Blocks of rows when every thread
// gets at least mr of them: a thread's rows of h[t] and dpre[t] are then all
// the next step's products need from it, so no step reads what another core
// wrote (measured ~12% faster at 2 threads on the LSTM T64 N32 H256 case
// than splitting units, although each thread reads all the weights). Else
// whole panels of nr units (each thread computes all rows of its units),
// else blocks of rows again. Row blocks are whole multiples of mr/3 rows
// (row tiles the micro-kernel runs at full speed, see ukernel_rows).
bool rows_split(int nt, i64 N, i64 mr) { return N >= nt * mr; }

Tile tile_of(int tid, int nt, i64 N, i64 H, i64 mr, i64 nr) {
  const i64 panels = ceil_div(H, nr), q = mr % 3 == 0 ? mr / 3 : mr;
  if (!rows_split(nt, N, mr) && panels >= nt) {
    const i64 p0 = panels * tid / nt, p1 = panels * (tid + 1) / nt;
    return {0, N, p0 * nr, std::min(p1 * nr, H)};
  }
  const i64 blocks = ceil_div(N, q);
  const i64 b0 = blocks * tid / nt, b1 = blocks * (tid + 1) / nt;
  return {std::min(b0 * q, N), std::min(b1 * q, N), 0, H};
}

// Threads for a sequence: one when a step's products (N x GH x K) are too
// small to pay for a barrier (~1 us), else all.
int seq_threads(i64 N, i64 GH, i64 K) {
  return mnk_at_most(N, GH, K, 48 * 48 * 48) ? 1 : num_threads();
}

// Runs step(tid, nt, s) for s = 0..steps-1 in order on nt threads, with a
// barrier after each step unless the threads split rows (rows_split), whose
// steps only read what the same thread wrote.
template <typename F>
void run_steps(int nt, i64 steps, i64 N, i64 mr, const F& step) {
  if (steps <= 0) return;
  if (nt <= 1) {
    for (i64 s = 0; s < steps; ++s) step(0, 1, s);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int tid = omp_get_thread_num(), n = omp_get_num_threads();
    const bool sync = !rows_split(n, N, mr);
    for (i64 s = 0; s < steps; ++s) {
      step(tid, n, s);
      if (sync) {
#pragma omp barrier
      }
    }
  }
}

// B operand columns from column j0 on (j0 a multiple of nr: whole panels).
template <typename T>
Panels<T> from_col(Panels<T> b, i64 j0, i64 nr) {
  return {b.p + j0 / nr * b.ps, b.rs, b.ps};
}

// A weight w (K, G*H) as the B operand of the G gates, gate q's columns
// q*H.. starting a panel, so that a thread's units start one in every gate.
template <typename T>
struct GateB {
  Panels<T> b;  // gate 0
  i64 gate;     // gate q at b.p + q*gate
  Panels<T> at(int q, i64 u0, i64 nr) const { return from_col<T>({b.p + q * gate, b.rs, b.ps}, u0, nr); }
};

// Elements gate_operand may pack a (K, G*H) weight into.
template <typename T>
i64 gate_operand_size(i64 K, int G, i64 H) {
  return checked_mul(gemm_packed_b_size<T>(K, H), G);
}

// Packs G blocks of B, each k x n (block q at b + q*step), as gemm_pack_b
// does, block q at dst + q*gemm_packed_b_size(k, n); threads split the panels.
template <typename T>
void pack_blocks(i64 k, i64 n, int G, Mat<const T> b, i64 step, T* dst, int threads) {
  const i64 nr = gemm_kernel<T>(isa_active()).nr, panels = ceil_div(n, nr);
  const i64 size = gemm_packed_b_size<T>(k, n);
  parallel_for(G * panels, 1, threads, [&](i64 i0, i64 i1) {
    for (i64 i = i0; i < i1; ++i) {
      const i64 q = i / panels, j0 = i % panels * nr;
      gemm_pack_b<T>(k, std::min(nr, n - j0), {b.p + q * step + j0 * b.cs, b.rs, b.cs},
                     dst + q * size + j0 * k);
    }
  });
}

// w (K, G*H), element (k, c) at w[k*rs + c*cs], as GateB: read in place when
// it is used once (a single step) and its columns have unit stride, else
// packed gate by gate into buf (gate_operand_size elements), once per call.
template <typename T>
GateB<T> gate_operand(const T* w, i64 K, i64 rs, i64 cs, int G, i64 H, bool once, T* buf,
                      int threads) {
  const i64 nr = gemm_kernel<T>(isa_active()).nr;
  if (once && cs == 1) return {{w, rs, nr}, H};
  pack_blocks<T>(K, H, G, {w, rs, cs}, H * cs, buf, threads);
  return {{buf, nr, nr * K}, gemm_packed_b_size<T>(K, H)};
}

// w (K, GH) transposed, (GH, K), packed as B into buf (gemm_packed_b_size(GH, K) elements).
template <typename T>
Panels<T> pack_transposed(const T* w, i64 K, i64 rs, i64 cs, i64 GH, T* buf, int threads) {
  const i64 nr = gemm_kernel<T>(isa_active()).nr;
  pack_blocks<T>(GH, K, 1, {w, cs, rs}, 0, buf, threads);
  return {buf, nr, nr * GH};
}

// pre[rows, q*H + units] = x_t[rows] @ wx[:, q*H + units] + h_prev[rows] @ wh[:, q*H + units]
// for every gate q, on the tile's rows and units. pre (N, G*H), x_t (N, D),
// h_prev (N, H) or null (zero state).
template <typename T>
void step_products(T* pre, const T* x_t, const T* h_prev, const GateB<T>& wx, const GateB<T>& wh,
                   int G, i64 D, i64 H, i64 nr, const Tile& tl) {
  const i64 rows = tl.r1 - tl.r0, units = tl.u1 - tl.u0, GH = G * H;
  for (int q = 0; q < G; ++q) {
    const Mat<T> c{pre + tl.r0 * GH + q * H + tl.u0, GH, 1};
    gemm_panels<T>(rows, units, D, T(1), {x_t + tl.r0 * D, D, 1}, wx.at(q, tl.u0, nr), T(0), c);
    if (h_prev)
      gemm_panels<T>(rows, units, H, T(1), {h_prev + tl.r0 * H, H, 1}, wh.at(q, tl.u0, nr), T(1), c);
  }
}

// Row stride of a step's dpre (rows of GH): one cache line longer when a
// row is a multiple of 1 KiB, so that the rows a micro-kernel tile reads at
// once as A do not all fall in the same L1 set.
template <typename T>
i64 dpre_ld(i64 GH) {
  return GH * static_cast<i64>(sizeof(T)) % 1024 == 0 ? GH + 64 / static_cast<i64>(sizeof(T)) : GH;
}

// out[rows, cols] = dn[rows] @ wt[:, cols] on a tile (units = columns of out):
// dn (N, GH) one step's dpre, row stride ld; wt a packed transposed weight; out (N, n).
template <typename T>
void step_grad(T* out, i64 n, const T* dn, i64 ld, Panels<T> wt, i64 GH, i64 nr, const Tile& tl) {
  gemm_panels<T>(tl.r1 - tl.r0, tl.u1 - tl.u0, GH, T(1), {dn + tl.r0 * ld, ld, 1},
                 from_col(wt, tl.u0, nr), T(0), {out + tl.r0 * n + tl.u0, n, 1});
}

// dh0 = dpre0 @ wh^T (when dh0 is wanted) and dx0 = dpre0 @ wx^T for a
// single step (the cells), computed transposed, dh0^T = wh @ dpre0^T: wh's
// and wx's rows are read in place and only dpre0^T (N x GH) is packed, where
// step_grad would need the transposed weights packed ((H + D) x GH), which
// one step does not amortize (~3x slower for the lstm_cell N32 D128 H256
// case). Threads split the rows of wh and wx. dpre0 (N, GH), row stride ld.
template <typename T>
void single_step_grads(T* dh0, T* dx0, const T* dpre0, i64 ld, const T* wh, const T* wx, i64 GH,
                       const RnnParams& p, int threads) {
  const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
  const i64 N = p.N, H = p.H, D = p.D, mr = g.mr;
  T* bt = scratch<T>(gemm_packed_b_size<T>(GH, N), 1);
  gemm_pack_b<T>(GH, N, {dpre0, 1, ld}, bt);
  const Panels<T> b{bt, g.nr, g.nr * GH};
  const i64 th = dh0 ? ceil_div(H, mr) : 0, tiles = th + ceil_div(D, mr);
  parallel_for(tiles, 1, threads, [&](i64 i0, i64 i1) {
    for (i64 i = i0; i < i1; ++i) {
      if (i < th) {
        const i64 r0 = i * mr;
        gemm_panels<T>(std::min(mr, H - r0), N, GH, T(1), {wh + r0 * p.rswh, p.rswh, p.cswh}, b, T(0),
                       {dh0 + r0, 1, H});
      } else {
        const i64 r0 = (i - th) * mr;
        gemm_panels<T>(std::min(mr, D - r0), N, GH, T(1), {wx + r0 * p.rswx, p.rswx, p.cswx}, b, T(0),
                       {dx0 + r0, 1, D});
      }
    }
  });
}

// dpre of all steps, (T*N, G*H), packed gate by gate as a GEMM B operand
// (gemm.h's panels of nr columns, each gate's first unit starting a panel):
// the backward cells write it (Packed, rnn.h) next to the row-major copy
// of a step that the step products read, and the weight gradients read it
// as B. Measured ~8% faster weight gradients than reading dpre's rows in
// place (contiguous panels stream better than rows a page apart).
template <typename T>
struct PackedDpre {
  T* p;       // gate q's panel j at p + q*pd.gate + j*pd.ps
  Packed pd;
  i64 panels;  // per gate: ceil(H / nr)
  // Where row `row`'s units from u0 (a multiple of nr) on go, gate 0.
  T* at(i64 row, i64 u0) const { return p + u0 / pd.nr * pd.ps + row * pd.nr; }
};

template <typename T>
PackedDpre<T> packed_dpre(int G, const RnnParams& p) {
  const i64 nr = gemm_kernel<T>(isa_active()).nr, panels = ceil_div(p.H, nr);
  const i64 ps = checked_mul(nr, checked_mul(p.T, p.N)), gate = checked_mul(panels, ps);
  return {scratch<T>(checked_mul(gate, G), 0), {nr, ps, gate}, panels};
}

// dwx = x^T @ dpre, dwh = [h0; hs[:-1]]^T @ dpre and db = column sums of
// dpre (T*N, G*H), once the recurrence is done. Threads split the columns
// by panels; x^T and hs^T are read in place as column panels against
// blocks of kc rows of a dpre panel (which stay in cache while all the A
// tiles pass over them). Each element sums over the rows in an order fixed
// by the shape (blocks in order, h0's rows before hs's).
template <typename T>
void weight_grads(T* dwx, T* dwh, T* db, const PackedDpre<T>& dp, int G, const T* x, const T* h0,
                  const T* hs, const RnnParams& p) {
  const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
  const i64 TN = p.T * p.N, N = p.N, H = p.H, D = p.D, GH = G * H, nr = g.nr, kc = g.kc;
  const int threads = mnk_at_most(D + H, GH, TN, g.serial_mnk) ? 1 : num_threads();
  parallel_for(G * dp.panels, 1, threads, [&](i64 i0, i64 i1) {
    for (i64 i = i0; i < i1; ++i) {
      const i64 q = i / dp.panels, j = i % dp.panels, c0 = q * H + j * nr, nb = std::min(nr, H - j * nr);
      const T* panel = dp.p + q * dp.pd.gate + j * dp.pd.ps;  // (TN, nb), row stride nr
      const Mat<T> cx{dwx + c0, GH, 1}, ch{dwh + c0, GH, 1};
      bool first_x = true, first_h = true;
      // rows [r0, r1) of the panel against rows [r0, r1) of A^T (a^T column panel at a).
      auto add = [&](Mat<T> c, i64 m, bool& first, const T* a, i64 lda, i64 r0, i64 r1) {
        if (r1 <= r0) return;
        gemm_panels<T>(m, nb, r1 - r0, T(1), {a, 1, lda}, {panel + r0 * nr, nr, dp.pd.ps},
                       first ? T(0) : T(1), c);
        first = false;
      };
      for (i64 r0 = 0; r0 < TN; r0 += kc) {
        const i64 r1 = std::min(r0 + kc, TN);
        add(cx, D, first_x, x + r0 * D, D, r0, r1);
        if (h0 && r0 < N) add(ch, H, first_h, h0 + r0 * H, H, r0, std::min(r1, N));  // step 0: h0
        const i64 s0 = std::max(r0, N);                                              // steps 1..: hs[t-1]
        add(ch, H, first_h, hs + (s0 - N) * H, H, s0, r1);
      }
      if (first_x) gemm_panels<T>(D, nb, 0, T(1), {x, 1, D}, {panel, nr, nr}, T(0), cx);  // no rows: zeros
      if (first_h) gemm_panels<T>(H, nb, 0, T(1), {hs, 1, H}, {panel, nr, nr}, T(0), ch);
      if (db) sum_rows(db + c0, panel, TN, nb, nr);
    }
  });
}

// Copies src (n,) to dst, or zeros dst when src is null.
template <typename T>
void copy_or_zero(T* dst, const T* src, i64 n) {
  if (src)
    std::memcpy(dst, src, sizeof(T) * n);
  else
    std::fill(dst, dst + n, T(0));
}

// The cells of the active ISA; the portable (Scalar) ones last.
template <typename T>
RnnCells<T> cells() {
  switch (isa_active()) {
    case Isa::avx512: return avx512::rnn_cells<T>();
    case Isa::avx2: return avx2::rnn_cells<T>();
    default: return rnn_cells_of<Scalar<T>>();
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// tanh RNN

template <typename T>
void rnn_fwd(T* hs, const T* x, const T* h0, const T* wx, const T* wh, const T* b,
             const RnnParams& p) {
  const i64 N = p.N, H = p.H, D = p.D, NH = N * H;
  if (p.T == 0 || NH == 0) return;
  const bool once = p.T == 1;
  const int threads = seq_threads(N, H, D + H);
  const i64 wx_size = gate_operand_size<T>(D, 1, H);
  T* buf = scratch<T>(wx_size + gate_operand_size<T>(H, 1, H), 1);
  const GateB<T> wxb = gate_operand(wx, D, p.rswx, p.cswx, 1, H, once, buf, threads);
  const GateB<T> whb = gate_operand(wh, H, p.rswh, p.cswh, 1, H, once, buf + wx_size, threads);
  const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
  const RnnCells<T> cell = cells<T>();
  run_steps(threads, p.T, N, g.mr, [&](int tid, int nt, i64 t) {
    const Tile tl = tile_of(tid, nt, N, H, g.mr, g.nr);
    if (tl.empty()) return;
    T* pre = hs + t * NH;  // holds the pre-activations until the cell makes them h[t]
    step_products(pre, x + t * N * D, t ? pre - NH : h0, wxb, whb, 1, D, H, g.nr, tl);
    for (i64 r = tl.r0; r < tl.r1; ++r)
      cell.tanh_fwd(pre + r * H + tl.u0, b ? b + tl.u0 : nullptr, tl.u1 - tl.u0);
  });
}

template <typename T>
void rnn_bwd(T* dx, T* dh0, T* dwx, T* dwh, T* db, const T* dhs, const T* x, const T* h0,
             const T* wx, const T* wh, const T* hs, const RnnParams& p) {
  const i64 N = p.N, H = p.H, D = p.D, NH = N * H, ld = dpre_ld<T>(H), Nld = N * ld;
  const PackedDpre<T> dp = packed_dpre<T>(1, p);
  if (p.T > 0 && NH > 0) {
    const int threads = seq_threads(N, H, D + H);
    const bool single = p.T == 1;  // products of the one step: single_step_grads
    Panels<T> wht{}, wxt{};
    if (!single) {
      const i64 wht_size = gemm_packed_b_size<T>(H, H);
      T* buf = scratch<T>(wht_size + gemm_packed_b_size<T>(H, D), 1);
      wht = pack_transposed(wh, H, p.rswh, p.cswh, H, buf, threads);
      wxt = pack_transposed(wx, D, p.rswx, p.cswx, H, buf + wht_size, threads);
    }
    const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
    const RnnCells<T> cell = cells<T>();
    T* dpre = scratch<T>(2 * Nld, 2);  // dpre of step t at dpre + t % 2 * N*ld, row stride ld
    // Step s runs the cell of t = T-1-s after the products of dpre[t+1]
    // (dh into dpre[t], or dh0 at the extra step s = T, and dx[t+1]).
    run_steps(threads, single ? 1 : p.T + 1, N, g.mr, [&](int tid, int nt, i64 s) {
      const Tile tl = tile_of(tid, nt, N, H, g.mr, g.nr), tx = tile_of(tid, nt, N, D, g.mr, g.nr);
      const i64 t = p.T - 1 - s;
      T* d = t >= 0 ? dpre + t % 2 * Nld : dh0;
      const i64 ldd = t >= 0 ? ld : H;
      if (s > 0) {
        const T* dn = dpre + (t + 1) % 2 * Nld;
        if (d && !tl.empty()) step_grad(d, ldd, dn, ld, wht, H, g.nr, tl);
        if (!tx.empty()) step_grad(dx + (t + 1) * N * D, D, dn, ld, wxt, H, g.nr, tx);
      } else if (!tl.empty()) {
        for (i64 r = tl.r0; r < tl.r1; ++r) std::fill(d + r * ld + tl.u0, d + r * ld + tl.u1, T(0));
      }
      if (t < 0 || tl.empty()) return;
      for (i64 r = tl.r0; r < tl.r1; ++r) {
        const i64 o = t * NH + r * H + tl.u0;
        cell.tanh_bwd(d + r * ld + tl.u0, dp.at(t * N + r, tl.u0), dhs ? dhs + o : nullptr, hs + o,
                      tl.u1 - tl.u0, dp.pd);
      }
    });
    if (single) single_step_grads(dh0, dx, dpre, ld, wh, wx, H, p, threads);
  } else if (dh0) {
    std::fill(dh0, dh0 + NH, T(0));
  }
  weight_grads(dwx, dwh, db, dp, 1, x, h0, hs, p);
}

// ---------------------------------------------------------------------------
// LSTM

template <typename T>
void lstm_fwd(T* hs, T* c_out, T* gates, T* cs, const T* x, const T* h0, const T* c0, const T* wx,
              const T* wh, const T* b, const RnnParams& p) {
  const i64 N = p.N, H = p.H, D = p.D, NH = N * H, GH = 4 * H;
  if (p.T == 0 || NH == 0) return copy_or_zero(c_out, c0, NH);
  const bool once = p.T == 1;
  const int threads = seq_threads(N, GH, D + H);
  const i64 wx_size = gate_operand_size<T>(D, 4, H);
  T* buf = scratch<T>(wx_size + gate_operand_size<T>(H, 4, H), 1);
  const GateB<T> wxb = gate_operand(wx, D, p.rswx, p.cswx, 4, H, once, buf, threads);
  const GateB<T> whb = gate_operand(wh, H, p.rswh, p.cswh, 4, H, once, buf + wx_size, threads);
  // Inference keeps no gates: one step's pre-activations live in scratch.
  T* pre = gates ? gates : scratch<T>(checked_mul(N, GH), 0);
  const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
  const RnnCells<T> cell = cells<T>();
  run_steps(threads, p.T, N, g.mr, [&](int tid, int nt, i64 t) {
    const Tile tl = tile_of(tid, nt, N, H, g.mr, g.nr);
    if (tl.empty()) return;
    T* pt = gates ? pre + t * N * GH : pre;
    const T* h_prev = t ? hs + (t - 1) * NH : h0;
    const T* c_prev = t ? (cs ? cs + (t - 1) * NH : c_out) : c0;  // inference: c_out in place
    T* c_new = cs ? cs + t * NH : c_out;
    step_products(pt, x + t * N * D, h_prev, wxb, whb, 4, D, H, g.nr, tl);
    for (i64 r = tl.r0; r < tl.r1; ++r) {
      const i64 o = r * H + tl.u0;
      cell.lstm_fwd(pt + r * GH + tl.u0, c_new + o, hs + t * NH + o, b ? b + tl.u0 : nullptr,
                    c_prev ? c_prev + o : nullptr, H, tl.u1 - tl.u0);
    }
  });
  if (cs) std::memcpy(c_out, cs + (p.T - 1) * NH, sizeof(T) * NH);
}

template <typename T>
void lstm_bwd(T* dx, T* dh0, T* dc0, T* dwx, T* dwh, T* db, const T* dhs, const T* dhT,
              const T* dcT, const T* x, const T* h0, const T* c0, const T* wx, const T* wh,
              const T* hs, const T* gates, const T* cs, const RnnParams& p) {
  const i64 N = p.N, H = p.H, D = p.D, NH = N * H, GH = 4 * H, ld = dpre_ld<T>(GH), Nld = N * ld;
  const PackedDpre<T> dp = packed_dpre<T>(4, p);
  if (p.T > 0 && NH > 0) {
    const int threads = seq_threads(N, GH, D + H);
    const bool single = p.T == 1;  // products of the one step: single_step_grads
    Panels<T> wht{}, wxt{};
    if (!single) {
      const i64 wht_size = gemm_packed_b_size<T>(GH, H);
      T* buf = scratch<T>(wht_size + gemm_packed_b_size<T>(GH, D), 1);
      wht = pack_transposed(wh, H, p.rswh, p.cswh, GH, buf, threads);
      wxt = pack_transposed(wx, D, p.rswx, p.cswx, GH, buf + wht_size, threads);
    }
    const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
    const RnnCells<T> cell = cells<T>();
    T* dh = scratch<T>(2 * NH + 2 * Nld, 2);  // dh, dc (N, H); dpre of step t at dpre + t % 2 * N*ld
    T* dc = dh + NH;
    T* dpre = dc + NH;
    // Step s runs the cell of t = T-1-s after the products of dpre[t+1]
    // (dh, or dh0 at the extra step s = T, and dx[t+1]).
    run_steps(threads, p.T + 1, N, g.mr, [&](int tid, int nt, i64 s) {
      const Tile tl = tile_of(tid, nt, N, H, g.mr, g.nr), tx = tile_of(tid, nt, N, D, g.mr, g.nr);
      const i64 t = p.T - 1 - s, nu = tl.u1 - tl.u0;
      if (s > 0 && !single) {
        const T* dn = dpre + (t + 1) % 2 * Nld;
        T* dht = t >= 0 ? dh : dh0;
        if (dht && !tl.empty()) step_grad(dht, H, dn, ld, wht, GH, g.nr, tl);
        if (!tx.empty()) step_grad(dx + (t + 1) * N * D, D, dn, ld, wxt, GH, g.nr, tx);
      }
      if (tl.empty()) return;
      if (t < 0) {
        if (dc0)
          for (i64 r = tl.r0; r < tl.r1; ++r)
            std::memcpy(dc0 + r * H + tl.u0, dc + r * H + tl.u0, sizeof(T) * nu);
        return;
      }
      if (s == 0) {  // the last step: dh = dhT, dc = dcT
        for (i64 r = tl.r0; r < tl.r1; ++r) {
          const i64 o = r * H + tl.u0;
          copy_or_zero(dh + o, dhT ? dhT + o : nullptr, nu);
          copy_or_zero(dc + o, dcT ? dcT + o : nullptr, nu);
        }
      }
      const i64 step = t * NH;
      for (i64 r = tl.r0; r < tl.r1; ++r) {
        const i64 o = r * H + tl.u0, og = (t * N + r) * GH + tl.u0;
        const T* c_prev = t ? cs + step - NH + o : (c0 ? c0 + o : nullptr);
        cell.lstm_bwd(dpre + t % 2 * Nld + r * ld + tl.u0, dp.at(t * N + r, tl.u0), dc + o, dh + o,
                      dhs ? dhs + step + o : nullptr, gates + og, cs + step + o, c_prev, H, nu, dp.pd);
      }
    });
    if (single) single_step_grads(dh0, dx, dpre, ld, wh, wx, GH, p, threads);
  } else {
    if (dh0) copy_or_zero(dh0, p.T == 0 ? dhT : nullptr, NH);
    if (dc0) copy_or_zero(dc0, p.T == 0 ? dcT : nullptr, NH);
  }
  weight_grads(dwx, dwh, db, dp, 4, x, h0, hs, p);
}

#define FASTDL_INSTANTIATE(T)                                                                     \
  template void rnn_fwd<T>(T*, const T*, const T*, const T*, const T*, const T*, const RnnParams&); \
  template void rnn_bwd<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, const T*, const T*,   \
                           const T*, const RnnParams&);                                            \
  template void lstm_fwd<T>(T*, T*, T*, T*, const T*, const T*, const T*, const T*, const T*,      \
                            const T*, const RnnParams&);                                           \
  template void lstm_bwd<T>(T*, T*, T*, T*, T*, T*, const T*, const T*, const T*, const T*,        \
                            const T*, const T*, const T*, const T*, const T*, const T*, const T*,  \
                            const RnnParams&);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
