// rnn family: tanh RNN and LSTM sequences, forward and backward. See rnn.h.
//
// Forward, one call per sequence (G gates, pre = pre-activations (T*N, G*H)):
//   pre = x (T*N, D) @ wx                      every step's input projection, one gemm()
//   for t = 0..T-1:
//     pre[t] += h[t-1] @ wh                    wh packed once per call (gemm_packed_b)
//     h[t] (, c[t]) = cell(pre[t] + b, ...)    fused pointwise, on the tile just computed
// Backward (BPTT), one call:
//   for t = T-1..0:
//     dh = dhs[t] + dpre[t+1] @ wh^T           wh^T packed once per call
//     dpre[t] (, dc) = cell_bwd(dh, ...)
//   dh0 = dpre[0] @ wh^T
//   dx = dpre @ wx^T, dwx = x^T @ dpre, dwh = [h0; hs[:-1]]^T @ dpre, db = sum_rows(dpre)
//                                              large gemm()s over all steps at once
// What forward keeps for backward: the tanh RNN nothing beyond hs (the
// derivative of tanh is 1 - h^2); the LSTM the activated gates (T, N, 4H) and
// the cell states (T, N, H) (tanh(c) is recomputed, one vtanh per step).
//
// Threads: one parallel region for the whole sequence, a barrier per step.
// Every thread owns the same tile of (rows, hidden units) at every step,
// for all G gates of its units, so the pointwise cell runs right after the
// thread's own GEMM tiles with no barrier between them. The split depends
// only on the shape and the thread count, and no element's arithmetic
// depends on it (each GEMM element sums over k in the micro-kernel's fixed
// order), so results are bit-identical for any thread count.
#include "rnn.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "../core/parallel.h"
#include "../core/scratch.h"
#include "gemm/gemm.h"
#include "reduce.h"
#include "vmath.h"

namespace fastdl::cpu {

namespace {

// Rows [r0, r1) of the batch and hidden units [u0, u1) of one step.
struct Tile {
  i64 r0, r1, u0, u1;
  bool empty() const { return r0 >= r1 || u0 >= u1; }
};

// Thread tid's tile of an (N x H) step: whole panels of nr units when there
// are at least nt panels, else blocks of mr rows.
Tile tile_of(int tid, int nt, i64 N, i64 H, i64 mr, i64 nr) {
  const i64 panels = ceil_div(H, nr);
  if (panels >= nt) {
    const i64 p0 = panels * tid / nt, p1 = panels * (tid + 1) / nt;
    return {0, N, p0 * nr, std::min(p1 * nr, H)};
  }
  const i64 blocks = ceil_div(N, mr);
  const i64 b0 = blocks * tid / nt, b1 = blocks * (tid + 1) / nt;
  return {std::min(b0 * mr, N), std::min(b1 * mr, N), 0, H};
}

// Threads for a sequence: one when a step is too small to pay for a barrier
// (~1 us), else all.
int seq_threads(i64 N, i64 GH, i64 H) {
  return mnk_at_most(N, GH, H, 48 * 48 * 48) ? 1 : num_threads();
}

// Runs step(tid, nt, s) for s = 0..steps-1 in order on nt threads, with a
// barrier after each step.
template <typename F>
void run_steps(int nt, i64 steps, const F& step) {
  if (steps <= 0) return;
  if (nt <= 1) {
    for (i64 s = 0; s < steps; ++s) step(0, 1, s);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int tid = omp_get_thread_num(), n = omp_get_num_threads();
    for (i64 s = 0; s < steps; ++s) {
      step(tid, n, s);
#pragma omp barrier
    }
  }
}

// pre (T*N, GH) = x (T*N, D) @ wx (D, GH): the input projection of every step.
template <typename T>
void project_inputs(T* pre, const T* x, const T* wx, i64 GH, const RnnParams& p) {
  gemm<T>(p.T * p.N, GH, p.D, T(1), {x, p.D, 1}, {wx, p.rswx, p.cswx}, T(0), {pre, GH, 1});
}

// The recurrent weights for forward, packed gate by gate so that a thread's
// units start a panel in every gate: gate q's H x H block wh[:, qH:(q+1)H]
// at whp + q*gate_stride.
template <typename T>
struct PackedWh {
  T* p;
  i64 gate_stride;
};

template <typename T>
PackedWh<T> pack_wh(const T* wh, int G, const RnnParams& p) {
  const i64 H = p.H, size = gemm_packed_b_size<T>(H, H);
  PackedWh<T> w{scratch<T>(checked_mul(size, G), 1), size};
  for (int q = 0; q < G; ++q)
    gemm_pack_b<T>(H, H, {wh + q * H * p.cswh, p.rswh, p.cswh}, w.p + q * size);
  return w;
}

// pre[rows, q*H + units] += h_prev[rows] @ wh[:, q*H + units] for every gate q.
// pre (N, G*H) and h_prev (N, H) of one step.
template <typename T>
void recurrent_fwd(T* pre, const T* h_prev, const PackedWh<T>& w, int G, i64 H, const Tile& tl) {
  const i64 rows = tl.r1 - tl.r0, units = tl.u1 - tl.u0, GH = G * H;
  for (int q = 0; q < G; ++q)
    gemm_packed_b<T>(rows, units, H, T(1), {h_prev + tl.r0 * H, H, 1},
                     w.p + q * w.gate_stride + tl.u0 * H, T(1),
                     {pre + tl.r0 * GH + q * H + tl.u0, GH, 1});
}

// The recurrent weights for backward: wh^T (G*H, H) packed.
template <typename T>
T* pack_wh_t(const T* wh, int G, const RnnParams& p) {
  const i64 GH = G * p.H;
  T* whtp = scratch<T>(gemm_packed_b_size<T>(GH, p.H), 1);
  gemm_pack_b<T>(GH, p.H, {wh, p.cswh, p.rswh}, whtp);
  return whtp;
}

// dh[rows, units] = dpre[rows] @ wh^T[:, units]; dpre (N, G*H) of one step, dh (N, H).
template <typename T>
void recurrent_bwd(T* dh, const T* dpre, const T* whtp, int G, i64 H, const Tile& tl) {
  const i64 GH = G * H;
  gemm_packed_b<T>(tl.r1 - tl.r0, tl.u1 - tl.u0, GH, T(1), {dpre + tl.r0 * GH, GH, 1},
                   whtp + tl.u0 * GH, T(0), {dh + tl.r0 * H + tl.u0, H, 1});
}

// dx, dwx, dwh and db from dpre (T*N, GH), once the recurrence is done.
template <typename T>
void input_and_weight_grads(T* dx, T* dwx, T* dwh, T* db, const T* dpre, const T* x,
                            const T* h0, const T* wx, const T* hs, i64 GH, const RnnParams& p) {
  const i64 TN = p.T * p.N, N = p.N, H = p.H, D = p.D;
  gemm<T>(TN, D, GH, T(1), {dpre, GH, 1}, {wx, p.cswx, p.rswx}, T(0), {dx, D, 1});  // dpre @ wx^T
  gemm<T>(D, GH, TN, T(1), {x, 1, D}, {dpre, GH, 1}, T(0), {dwx, GH, 1});           // x^T @ dpre
  // dwh = sum over t of h[t-1]^T @ dpre[t]: h0's step, then steps 1..T-1 in one GEMM.
  T beta = T(0);
  if (h0 && p.T > 0) {
    gemm<T>(H, GH, N, T(1), {h0, 1, H}, {dpre, GH, 1}, T(0), {dwh, GH, 1});
    beta = T(1);
  }
  const i64 k_rest = p.T > 1 ? (p.T - 1) * N : 0;
  gemm<T>(H, GH, k_rest, T(1), {hs, 1, H}, {dpre + N * GH, GH, 1}, beta, {dwh, GH, 1});
  if (db) sum_rows(db, dpre, TN, GH, GH);
}

// Copies src (n,) to dst, or zeros dst when src is null.
template <typename T>
void copy_or_zero(T* dst, const T* src, i64 n) {
  if (src)
    std::memcpy(dst, src, sizeof(T) * n);
  else
    std::fill(dst, dst + n, T(0));
}

// ---------------------------------------------------------------------------
// Pointwise cells: one row of one step, units [u0, u0 + nu); every pointer is
// already offset to unit u0 (gate q of a (G*H) row at + q*H).

// h = tanh(pre + b) in place. pre (nu,), b (nu,) or null.
template <typename T>
void tanh_cell_fwd(T* pre, const T* b, i64 nu) {
  if (b)
    for (i64 j = 0; j < nu; ++j) pre[j] += b[j];
  vtanh(pre, pre, nu);
}

// dpre = (dh + dhs) * (1 - h^2). dpre (nu,) holds dh on entry; dhs (nu,) or null; h (nu,).
template <typename T>
void tanh_cell_bwd(T* __restrict dpre, const T* __restrict dhs, const T* __restrict h, i64 nu) {
  if (dhs)
    for (i64 j = 0; j < nu; ++j) dpre[j] = (dpre[j] + dhs[j]) * (T(1) - h[j] * h[j]);
  else
    for (i64 j = 0; j < nu; ++j) dpre[j] = dpre[j] * (T(1) - h[j] * h[j]);
}

// pre (4H) -> activated gates i, f, g, o in place; cn = f * cp + i * g;
// h = o * tanh(cn). b (4H) or null; cp (nu,) or null (zero), may equal cn;
// cn, h, tmp (nu,).
template <typename T>
void lstm_cell_fwd(T* __restrict pre, T* cn, T* __restrict h, T* __restrict tmp, const T* __restrict b,
                   const T* cp, i64 H, i64 nu) {
  T *gi = pre, *gf = pre + H, *gg = pre + 2 * H, *go = pre + 3 * H;
  if (b)
    for (int q = 0; q < 4; ++q)
      for (i64 j = 0; j < nu; ++j) pre[q * H + j] += b[q * H + j];
  vsigmoid(gi, gi, nu);
  vsigmoid(gf, gf, nu);
  vtanh(gg, gg, nu);
  vsigmoid(go, go, nu);
  if (cp)
    for (i64 j = 0; j < nu; ++j) cn[j] = gf[j] * cp[j] + gi[j] * gg[j];
  else
    for (i64 j = 0; j < nu; ++j) cn[j] = gi[j] * gg[j];
  vtanh(tmp, cn, nu);
  for (i64 j = 0; j < nu; ++j) h[j] = go[j] * tmp[j];
}

// dpre (4H) = gradient of the pre-activations of one row, from
// dh = dh_rec + dhs (dhs null: zero) and dc (in: from step t+1; out: for
// step t-1). act (4H) the activated gates; c (nu,) this step's cell state;
// cp (nu,) the previous one, or null (zero); tmp (2 nu,). Pointers never alias
// (__restrict lets the loop vectorise).
template <typename T>
void lstm_cell_bwd(T* __restrict dpre, T* __restrict dc, T* __restrict tmp, const T* __restrict dh_rec,
                   const T* __restrict dhs, const T* __restrict act, const T* __restrict c,
                   const T* __restrict cp, i64 H, i64 nu) {
  vtanh(tmp, c, nu);
  if (dhs)  // dh = dh_rec + dhs, in the second half of tmp
    for (i64 j = 0; j < nu; ++j) tmp[nu + j] = dh_rec[j] + dhs[j];
  const T* __restrict dh = dhs ? tmp + nu : dh_rec;
  for (i64 j = 0; j < nu; ++j) {
    const T i = act[j], f = act[H + j], g = act[2 * H + j], o = act[3 * H + j], tc = tmp[j];
    const T dcj = dc[j] + dh[j] * o * (T(1) - tc * tc);
    dpre[j] = dcj * g * (i * (T(1) - i));
    dpre[H + j] = dcj * (cp ? cp[j] : T(0)) * (f * (T(1) - f));
    dpre[2 * H + j] = dcj * i * (T(1) - g * g);
    dpre[3 * H + j] = dh[j] * tc * (o * (T(1) - o));
    dc[j] = dcj * f;
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// tanh RNN

template <typename T>
void rnn_fwd(T* hs, const T* x, const T* h0, const T* wx, const T* wh, const T* b,
             const RnnParams& p) {
  const i64 N = p.N, H = p.H, NH = N * H;
  project_inputs(hs, x, wx, H, p);  // hs[t] holds x[t] @ wx until step t makes it h[t]
  if (p.T == 0 || NH == 0) return;
  const PackedWh<T> w = pack_wh(wh, 1, p);
  const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
  run_steps(seq_threads(N, H, H), p.T, [&](int tid, int nt, i64 t) {
    const Tile tl = tile_of(tid, nt, N, H, g.mr, g.nr);
    if (tl.empty()) return;
    T* pre = hs + t * NH;
    const T* h_prev = t ? pre - NH : h0;
    if (h_prev) recurrent_fwd(pre, h_prev, w, 1, H, tl);
    for (i64 r = tl.r0; r < tl.r1; ++r)
      tanh_cell_fwd(pre + r * H + tl.u0, b ? b + tl.u0 : nullptr, tl.u1 - tl.u0);
  });
}

template <typename T>
void rnn_bwd(T* dx, T* dh0, T* dwx, T* dwh, T* db, const T* dhs, const T* x, const T* h0,
             const T* wx, const T* wh, const T* hs, const RnnParams& p) {
  const i64 N = p.N, H = p.H, NH = N * H;
  T* dpre = scratch<T>(checked_mul(p.T, NH), 0);  // (T, N, H)
  if (p.T > 0 && NH > 0) {
    const T* whtp = pack_wh_t(wh, 1, p);
    const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
    // Step s handles t = T-1-s; step T (when dh0 is wanted) only dh0 = dpre[0] @ wh^T.
    run_steps(seq_threads(N, H, H), p.T + (dh0 ? 1 : 0), [&](int tid, int nt, i64 s) {
      const Tile tl = tile_of(tid, nt, N, H, g.mr, g.nr);
      if (tl.empty()) return;
      if (s == p.T) return recurrent_bwd(dh0, dpre, whtp, 1, H, tl);
      const i64 t = p.T - 1 - s;
      T* d = dpre + t * NH;
      if (s > 0) {
        recurrent_bwd(d, d + NH, whtp, 1, H, tl);
      } else {
        for (i64 r = tl.r0; r < tl.r1; ++r) std::fill(d + r * H + tl.u0, d + r * H + tl.u1, T(0));
      }
      for (i64 r = tl.r0; r < tl.r1; ++r) {
        const i64 o = t * NH + r * H + tl.u0;
        tanh_cell_bwd(dpre + o, dhs ? dhs + o : nullptr, hs + o, tl.u1 - tl.u0);
      }
    });
  } else if (dh0) {
    std::fill(dh0, dh0 + NH, T(0));
  }
  input_and_weight_grads(dx, dwx, dwh, db, dpre, x, h0, wx, hs, H, p);
}

// ---------------------------------------------------------------------------
// LSTM

template <typename T>
void lstm_fwd(T* hs, T* c_out, T* gates, T* cs, const T* x, const T* h0, const T* c0, const T* wx,
              const T* wh, const T* b, const RnnParams& p) {
  const i64 N = p.N, H = p.H, NH = N * H, GH = 4 * H;
  if (p.T == 0 || NH == 0) return copy_or_zero(c_out, c0, NH);
  // Inference keeps no gates: the pre-activations live in scratch.
  T* pre = gates ? gates : scratch<T>(checked_mul(checked_mul(p.T, N), GH), 0);
  project_inputs(pre, x, wx, GH, p);
  const PackedWh<T> w = pack_wh(wh, 4, p);
  const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
  const int threads = seq_threads(N, GH, H);
  const i64 tmp_each = round_up(H, 16);
  T* tmp = scratch<T>(checked_mul(tmp_each, threads), 2);
  run_steps(threads, p.T, [&](int tid, int nt, i64 t) {
    const Tile tl = tile_of(tid, nt, N, H, g.mr, g.nr);
    if (tl.empty()) return;
    T* pt = pre + t * N * GH;
    const T* h_prev = t ? hs + (t - 1) * NH : h0;
    const T* c_prev = t ? (cs ? cs + (t - 1) * NH : c_out) : c0;  // inference: c_out in place
    T* c_new = cs ? cs + t * NH : c_out;
    if (h_prev) recurrent_fwd(pt, h_prev, w, 4, H, tl);
    for (i64 r = tl.r0; r < tl.r1; ++r) {
      const i64 o = r * H + tl.u0;
      lstm_cell_fwd(pt + r * GH + tl.u0, c_new + o, hs + t * NH + o, tmp + tid * tmp_each,
                    b ? b + tl.u0 : nullptr, c_prev ? c_prev + o : nullptr, H, tl.u1 - tl.u0);
    }
  });
  if (cs) std::memcpy(c_out, cs + (p.T - 1) * NH, sizeof(T) * NH);
}

template <typename T>
void lstm_bwd(T* dx, T* dh0, T* dc0, T* dwx, T* dwh, T* db, const T* dhs, const T* dhT,
              const T* dcT, const T* x, const T* h0, const T* c0, const T* wx, const T* wh,
              const T* hs, const T* gates, const T* cs, const RnnParams& p) {
  const i64 N = p.N, H = p.H, NH = N * H, GH = 4 * H;
  T* dpre = scratch<T>(checked_mul(checked_mul(p.T, N), GH), 0);  // (T, N, 4H)
  if (p.T > 0 && NH > 0) {
    const T* whtp = pack_wh_t(wh, 4, p);
    const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
    const int threads = seq_threads(N, GH, H);
    const i64 tmp_each = 2 * round_up(H, 16);
    T* dh = scratch<T>(2 * NH + checked_mul(tmp_each, threads), 2);  // dh, dc (N, H); tmp (2H) per thread
    T* dc = dh + NH;
    T* tmp = dc + NH;
    // Step s handles t = T-1-s; step T (when dh0 or dc0 is wanted) hands out dh0, dc0.
    run_steps(threads, p.T + (dh0 || dc0 ? 1 : 0), [&](int tid, int nt, i64 s) {
      const Tile tl = tile_of(tid, nt, N, H, g.mr, g.nr);
      if (tl.empty()) return;
      const i64 nu = tl.u1 - tl.u0;
      if (s == p.T) {
        if (dh0) recurrent_bwd(dh0, dpre, whtp, 4, H, tl);
        if (dc0)
          for (i64 r = tl.r0; r < tl.r1; ++r)
            std::memcpy(dc0 + r * H + tl.u0, dc + r * H + tl.u0, sizeof(T) * nu);
        return;
      }
      const i64 t = p.T - 1 - s;
      if (s > 0) {
        recurrent_bwd(dh, dpre + (t + 1) * N * GH, whtp, 4, H, tl);
      } else {  // the last step: dh = dhT, dc = dcT
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
        lstm_cell_bwd(dpre + og, dc + o, tmp + tid * tmp_each, dh + o, dhs ? dhs + step + o : nullptr,
                      gates + og, cs + step + o, c_prev, H, nu);
      }
    });
  } else {
    if (dh0) copy_or_zero(dh0, p.T == 0 ? dhT : nullptr, NH);
    if (dc0) copy_or_zero(dc0, p.T == 0 ? dcT : nullptr, NH);
  }
  input_and_weight_grads(dx, dwx, dwh, db, dpre, x, h0, wx, hs, GH, p);
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
