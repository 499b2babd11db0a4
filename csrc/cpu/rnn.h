// rnn family: tanh RNN and LSTM over a whole sequence, forward and backward
// (BPTT) in one call each. The cells (rnn_cell, lstm_cell) are the T = 1 case.
//
// Shapes: x (T, N, D) time-major; states (N, H); G gates per cell (1 for the
// tanh RNN; 4 for the LSTM, in the order i, f, g, o): wx (D, G*H),
// wh (H, G*H), b (G*H,). All arrays are C-contiguous except wx and wh, which
// take any element strides (a transposed PyTorch weight is read in place).
// Optional pointers may be null: b (no bias), h0 and c0 (zero initial
// state), dhs/dhT/dcT (zero incoming gradient), dh0/dc0/db (not wanted).
// Kernels overwrite their outputs; forward directly above backward.
#pragma once

#include "../core/common.h"

namespace fastdl::cpu {

struct RnnParams {
  i64 T, N, D, H;     // steps, batch, input features, hidden units
  i64 rswx, cswx;     // wx element (d, r) at wx[d*rswx + r*cswx]
  i64 rswh, cswh;     // wh element (j, r) at wh[j*rswh + r*cswh]
};

// hs (T, N, H): h[t] = tanh(x[t] @ wx + h[t-1] @ wh + b), h[-1] = h0.
// x (T, N, D), h0 (N, H) or null, wx (D, H), wh (H, H), b (H,) or null.
template <typename T>
void rnn_fwd(T* hs, const T* x, const T* h0, const T* wx, const T* wh, const T* b,
             const RnnParams& p);

// dx (T, N, D), dh0 (N, H) or null, dwx (D, H), dwh (H, H), db (H,) or null,
// given dhs (T, N, H) or null and the forward's inputs and hs.
template <typename T>
void rnn_bwd(T* dx, T* dh0, T* dwx, T* dwh, T* db, const T* dhs, const T* x, const T* h0,
             const T* wx, const T* wh, const T* hs, const RnnParams& p);

// hs (T, N, H) and c_out (N, H) = c[T-1] of the LSTM
//   i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of x[t] @ wx + h[t-1] @ wh + b
//   c[t] = f * c[t-1] + i * g,  h[t] = o * tanh(c[t]),  h[-1] = h0, c[-1] = c0.
// For backward it keeps gates (T, N, 4H), the activated i, f, g, o, and
// cs (T, N, H), the cell states; both null for inference.
// x (T, N, D), h0 (N, H) or null, c0 (N, H) or null, wx (D, 4H), wh (H, 4H), b (4H,) or null.
template <typename T>
void lstm_fwd(T* hs, T* c_out, T* gates, T* cs, const T* x, const T* h0, const T* c0, const T* wx,
              const T* wh, const T* b, const RnnParams& p);

// dx (T, N, D), dh0 (N, H) or null, dc0 (N, H) or null, dwx (D, 4H), dwh (H, 4H),
// db (4H,) or null, given dhs (T, N, H), dhT (N, H), dcT (N, H) (each or null)
// and the forward's inputs, hs, gates and cs.
template <typename T>
void lstm_bwd(T* dx, T* dh0, T* dc0, T* dwx, T* dwh, T* db, const T* dhs, const T* dhT,
              const T* dcT, const T* x, const T* h0, const T* c0, const T* wx, const T* wh,
              const T* hs, const T* gates, const T* cs, const RnnParams& p);

// Where the backward cells also write dpre, packed gate by gate as a GEMM B
// operand (gemm.h's panel layout) for the weight gradients: gate q's units
// from u0 (a multiple of nr) on at pk + q*gate, unit u0 + j at
// + j / nr * ps + j % nr.
struct Packed {
  i64 nr;    // panel width
  i64 ps;    // elements from one panel to the next (nr * rows)
  i64 gate;  // elements from one gate's first panel to the next gate's
};

// The pointwise cells on one row of one step, hidden units [u0, u0 + nu),
// pointers offset to unit u0 (rnn_simd.h has the formulas). One table per
// ISA and dtype; rnn.cpp picks isa_active()'s once per call.
template <typename T>
struct RnnCells {
  // h = tanh(pre + b) in place; b or null.
  void (*tanh_fwd)(T* pre, const T* b, i64 nu);
  // dpre = (dpre + dhs) * (1 - h^2), also to pk; dhs or null.
  void (*tanh_bwd)(T* dpre, T* pk, const T* dhs, const T* h, i64 nu, const Packed& pd);
  // pre (4H) -> activated gates in place, cn = f*cp + i*g, h = o*tanh(cn); b, cp or null.
  void (*lstm_fwd)(T* pre, T* cn, T* h, const T* b, const T* cp, i64 H, i64 nu);
  // dpre (4H), also to pk, and dc (in: from t+1, out: for t-1) from dh = dh_rec + dhs;
  // dhs, cp or null.
  void (*lstm_bwd)(T* dpre, T* pk, T* dc, const T* dh_rec, const T* dhs, const T* act, const T* c,
                   const T* cp, i64 H, i64 nu, const Packed& pd);
};

namespace avx2 {
template <typename T>
RnnCells<T> rnn_cells();
}
namespace avx512 {
template <typename T>
RnnCells<T> rnn_cells();
}

}  // namespace fastdl::cpu
