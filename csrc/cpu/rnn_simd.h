// The pointwise cells of the rnn family, written once for every vector
// interface M (VMath<V> of vec.h, or Scalar<T>): compiled with Scalar<T> in
// rnn.cpp (the portable path, the last entry) and with the SIMD structs in
// rnn_avx2.cpp / rnn_avx512.cpp (Note [ISA files]). Each kernel is one row of
// one step, hidden units [u0, u0 + nu), every pointer already offset to unit
// u0 (gate q of a (G*H) row at + q*H). The gate activations, the cell update
// and their gradients stay in registers: one pass over a row, no temporaries.
// Lanes never interact and a partial chunk runs the same arithmetic, so a
// unit's result does not depend on the tile it falls in (bit-identical for
// any thread split).
#pragma once

#include "../core/common.h"
#include "rnn.h"
#include "vec.h"
#include "vmath_simd.h"

namespace fastdl::cpu {
namespace {  // internal linkage: see Note [ISA files]

// body(j, n) over [0, nu) in chunks of n = M::W lanes, the tail as one chunk of n < W lanes.
template <class M, class F>
inline void rnn_lanes(i64 nu, const F& body) {
  i64 j = 0;
  for (; j + M::W <= nu; j += M::W) body(j, i64{M::W});
  if (j < nu) body(j, nu - j);
}

template <class M>
inline typename M::reg rnn_ld(const typename M::T* p, i64 n) {
  return n == M::W ? M::load(p) : M::load_n(p, n, typename M::T(0));
}

template <class M>
inline void rnn_st(typename M::T* p, typename M::reg r, i64 n) {
  if (n == M::W)
    M::store(p, r);
  else
    M::store_n(p, r, n);
}

// The backward cells also write dpre packed as a GEMM B operand (Packed,
// rnn.h) for the weight gradients: unit u0 + j of a gate at
// pk + j / nr * ps + j % nr, pk that gate's pointer for unit u0 (u0 a
// multiple of nr, and nr of W, so a chunk never straddles two panels).
template <class M>
inline void rnn_st_packed(typename M::T* pk, i64 ps, i64 nr, i64 j, typename M::reg r, i64 n) {
  rnn_st<M>(pk + j / nr * ps + j % nr, r, n);
}

// h = tanh(pre + b) in place. pre (nu,), b (nu,) or null.
template <class M>
void tanh_cell_fwd_row(typename M::T* pre, const typename M::T* b, i64 nu) {
  rnn_lanes<M>(nu, [&](i64 j, i64 n) {
    auto z = rnn_ld<M>(pre + j, n);
    if (b) z = z + rnn_ld<M>(b + j, n);
    rnn_st<M>(pre + j, M::tanh(z), n);
  });
}

// dpre = (dh + dhs) * (1 - h^2), also to pk. dpre (nu,) holds dh on entry;
// dhs (nu,) or null; h (nu,).
template <class M>
void tanh_cell_bwd_row(typename M::T* dpre, typename M::T* pk, const typename M::T* dhs,
                       const typename M::T* h, i64 nu, const Packed& pd) {
  using T = typename M::T;
  rnn_lanes<M>(nu, [&](i64 j, i64 n) {
    auto d = rnn_ld<M>(dpre + j, n);
    if (dhs) d = d + rnn_ld<M>(dhs + j, n);
    const auto hj = rnn_ld<M>(h + j, n);
    const auto r = d * (T(1) - hj * hj);
    rnn_st<M>(dpre + j, r, n);
    rnn_st_packed<M>(pk, pd.ps, pd.nr, j, r, n);
  });
}

// pre (4H) -> activated gates i, f, g, o in place; cn = f * cp + i * g;
// h = o * tanh(cn). b (4H) or null; cp (nu,) or null (zero), may equal cn;
// cn, h (nu,).
template <class M>
void lstm_cell_fwd_row(typename M::T* pre, typename M::T* cn, typename M::T* h,
                       const typename M::T* b, const typename M::T* cp, i64 H, i64 nu) {
  rnn_lanes<M>(nu, [&](i64 j, i64 n) {
    auto zi = rnn_ld<M>(pre + j, n), zf = rnn_ld<M>(pre + H + j, n);
    auto zg = rnn_ld<M>(pre + 2 * H + j, n), zo = rnn_ld<M>(pre + 3 * H + j, n);
    if (b) {
      zi = zi + rnn_ld<M>(b + j, n), zf = zf + rnn_ld<M>(b + H + j, n);
      zg = zg + rnn_ld<M>(b + 2 * H + j, n), zo = zo + rnn_ld<M>(b + 3 * H + j, n);
    }
    const auto i = M::sigmoid(zi), f = M::sigmoid(zf), g = M::tanh(zg), o = M::sigmoid(zo);
    rnn_st<M>(pre + j, i, n), rnn_st<M>(pre + H + j, f, n);
    rnn_st<M>(pre + 2 * H + j, g, n), rnn_st<M>(pre + 3 * H + j, o, n);
    const auto c = cp ? f * rnn_ld<M>(cp + j, n) + i * g : i * g;
    rnn_st<M>(cn + j, c, n);
    rnn_st<M>(h + j, o * M::tanh(c), n);
  });
}

// dpre (4H) = gradient of the pre-activations of one row, also to pk (gate
// q at pk + q*pd.gate), from dh = dh_rec + dhs (dhs null: zero) and dc (in:
// from step t+1; out: for step t-1). act (4H) the activated gates; c (nu,)
// this step's cell state; cp (nu,) the previous one, or null (zero). dpre,
// pk and dc alias nothing.
template <class M>
void lstm_cell_bwd_row(typename M::T* dpre, typename M::T* pk, typename M::T* dc,
                       const typename M::T* dh_rec, const typename M::T* dhs,
                       const typename M::T* act, const typename M::T* c, const typename M::T* cp,
                       i64 H, i64 nu, const Packed& pd) {
  using T = typename M::T;
  auto st = [&](int q, i64 j, typename M::reg r, i64 n) {
    rnn_st<M>(dpre + q * H + j, r, n);
    rnn_st_packed<M>(pk + q * pd.gate, pd.ps, pd.nr, j, r, n);
  };
  rnn_lanes<M>(nu, [&](i64 j, i64 n) {
    const auto i = rnn_ld<M>(act + j, n), f = rnn_ld<M>(act + H + j, n);
    const auto g = rnn_ld<M>(act + 2 * H + j, n), o = rnn_ld<M>(act + 3 * H + j, n);
    const auto tc = M::tanh(rnn_ld<M>(c + j, n));
    auto dh = rnn_ld<M>(dh_rec + j, n);
    if (dhs) dh = dh + rnn_ld<M>(dhs + j, n);
    const auto dcj = rnn_ld<M>(dc + j, n) + dh * o * (T(1) - tc * tc);
    st(0, j, dcj * g * (i * (T(1) - i)), n);
    st(1, j, cp ? dcj * rnn_ld<M>(cp + j, n) * (f * (T(1) - f)) : M::set1(T(0)), n);
    st(2, j, dcj * i * (T(1) - g * g), n);
    st(3, j, dh * tc * (o * (T(1) - o)), n);
    rnn_st<M>(dc + j, dcj * f, n);
  });
}

// The table of one vector interface's cells.
template <class M>
RnnCells<typename M::T> rnn_cells_of() {
  return {&tanh_cell_fwd_row<M>, &tanh_cell_bwd_row<M>, &lstm_cell_fwd_row<M>, &lstm_cell_bwd_row<M>};
}

}  // namespace
}  // namespace fastdl::cpu
