// The direct few-channel conv kernels' body (contract: conv_direct.h),
// templated on a vector interface V (vec.h: Scalar<T>, or an ISA's F32 /
// F64). Included by conv.cpp, conv_avx2.cpp and conv_avx512.cpp.
//
// Register tiles (accumulators of 24 of AVX-512's 32 registers, 12 of 16 elsewhere):
//   fwd    NO outputs x NV pixel vectors; per tap NV loads, NO broadcasts.
//          Many outputs (a forward): 8 x 3; few (the data gradient of a
//          3- or 4-channel layer): 3 x 8, 4 x 6 (AVX2: 4 x 3, 3 x 4). The NV vectors run along the flattened
//          rows, so a short row still fills the tile; a row's last vector
//          loads whole registers (its extra lanes read the next row or the
//          padding and are never stored) and stores the first lanes only.
//   wgrad  NF gradient rows x NT taps, accumulated over the plane's
//          vectors (a row's last vector loads its lanes only, zeros
//          elsewhere); then the lanes of each accumulator are added.
// A tile past the last output or tap repeats the last one and is not stored.
#pragma once

#include "conv_direct.h"
#include "vec.h"

namespace fastdl::cpu {
namespace {  // internal linkage: see Note [ISA files]

template <class V>
constexpr int direct_regs() {
  return sizeof(typename V::reg) >= 64 ? 24 : 12;
}

// Keeps a loaded vector in a register: without this GCC folds the load into
// every FMA that uses it, repeating it there (loads, not FMAs, then bound the loop).
template <class V>
inline void in_register(typename V::reg& r) {
#if defined(__GNUC__)
  if constexpr (V::W > 1) asm("" : "+v"(r));
#endif
}

template <class V, int NO, int NV>
void direct_fwd_tile(typename V::T* out, const typename V::T* in, const typename V::T* wt, i64 ldw,
                     const typename V::T* bias, const DirectGeom& g, i64 o0, i64 i0, i64 c0, i64 nv, i64 vpr) {
  using T = typename V::T;
  using reg = typename V::reg;
  // the tile's first vector is vector column c0 (of vpr) of row i0; nv of its NV vectors exist
  const T* src[NV];
  i64 dst[NV], lanes[NV];
  for (i64 v = 0, i = i0, c = c0; v < NV; ++v) {
    const i64 j = c * V::W;
    src[v] = in + i * g.wp + j, dst[v] = i * g.ow + j, lanes[v] = g.ow - j < V::W ? g.ow - j : V::W;
    if (v + 1 < nv && ++c == vpr) c = 0, ++i;
  }
  reg acc[NO][NV];
  for (int o = 0; o < NO; ++o) {
    const reg b = V::set1(bias && o0 + o < g.no ? bias[o0 + o] : T(0));
    for (int v = 0; v < NV; ++v) acc[o][v] = b;
  }
  const T* wk = wt + o0;
  for (i64 k = 0; k < g.k; ++k, wk += ldw) {
    const i64 d = g.off[k];
    if constexpr (NO < NV) {  // live: NO broadcasts + one input vector
      reg wv[NO];
      for (int o = 0; o < NO; ++o) wv[o] = V::set1(wk[o]);
      for (int v = 0; v < NV; ++v) {
        reg x = V::load(src[v] + d);
        in_register<V>(x);
        for (int o = 0; o < NO; ++o) acc[o][v] = V::fma(wv[o], x, acc[o][v]);
      }
    } else {  // live: NV input vectors + one broadcast
      reg x[NV];
      for (int v = 0; v < NV; ++v) x[v] = V::load(src[v] + d);
      for (int o = 0; o < NO; ++o) {
        const reg wv = V::set1(wk[o]);
        for (int v = 0; v < NV; ++v) acc[o][v] = V::fma(wv, x[v], acc[o][v]);
      }
    }
  }
  const i64 plane = g.oh * g.ow;
  for (int o = 0; o < NO && o0 + o < g.no; ++o)
    for (int v = 0; v < nv; ++v) store_w<V>(out + (o0 + o) * plane + dst[v], acc[o][v], lanes[v]);
}

template <class V, int NO>
void direct_fwd_rows(typename V::T* out, const typename V::T* in, const typename V::T* wt, i64 ldw,
                     const typename V::T* bias, const DirectGeom& g) {
  constexpr int NV = direct_regs<V>() / NO;
  const i64 vpr = ceil_div(g.ow, V::W), nvec = g.oh * vpr;
  for (i64 o0 = 0; o0 < g.no; o0 += NO)
    for (i64 v0 = 0, i = 0, c = 0; v0 < nvec; v0 += NV) {
      direct_fwd_tile<V, NO, NV>(out, in, wt, ldw, bias, g, o0, i, c, nvec - v0 < NV ? nvec - v0 : NV, vpr);
      for (int s = 0; s < NV; ++s)
        if (++c == vpr) c = 0, ++i;
    }
}

template <class V>
void direct_fwd(typename V::T* out, const typename V::T* in, const typename V::T* wt, i64 ldw,
                const typename V::T* bias, const DirectGeom& g) {
  constexpr int R = direct_regs<V>();
  if (g.no <= 3) return direct_fwd_rows<V, 3>(out, in, wt, ldw, bias, g);
  if (g.no <= 4) return direct_fwd_rows<V, 4>(out, in, wt, ldw, bias, g);
  direct_fwd_rows<V, R / 3>(out, in, wt, ldw, bias, g);
}

template <class V, int NF, int NT>
void direct_wgrad_tile(typename V::T* gw, const typename V::T* d, const typename V::T* in, const DirectGeom& g,
                       i64 f0, i64 t0) {
  using T = typename V::T;
  using reg = typename V::reg;
  const i64 plane = g.oh * g.ow;
  const T* dsrc[NF];
  for (int f = 0; f < NF; ++f) dsrc[f] = d + (f0 + f < g.no ? f0 + f : g.no - 1) * plane;
  const T* xsrc[NT];
  for (int t = 0; t < NT; ++t) xsrc[t] = in + g.off[t0 + t < g.k ? t0 + t : g.k - 1];
  reg acc[NF][NT];
  for (int f = 0; f < NF; ++f)
    for (int t = 0; t < NT; ++t) acc[f][t] = V::set1(T(0));
  // the rows' whole vectors, then their tails (one loop each: no branch between rows)
  const i64 full = g.ow / V::W * V::W, tail = g.ow - full;
  for (i64 i = 0; i < g.oh; ++i)
    for (i64 j = 0; j < full; j += V::W) {
      reg x[NT];
      for (int t = 0; t < NT; ++t) x[t] = V::load(xsrc[t] + i * g.wp + j);
      for (int f = 0; f < NF; ++f) {
        reg dv = V::load(dsrc[f] + i * g.ow + j);
        in_register<V>(dv);
        for (int t = 0; t < NT; ++t) acc[f][t] = V::fma(dv, x[t], acc[f][t]);
      }
    }
  for (i64 i = 0; tail && i < g.oh; ++i) {
    reg x[NT];
    for (int t = 0; t < NT; ++t) x[t] = V::load_n(xsrc[t] + i * g.wp + full, tail, T(0));
    for (int f = 0; f < NF; ++f) {
      const reg dv = V::load_n(dsrc[f] + i * g.ow + full, tail, T(0));
      for (int t = 0; t < NT; ++t) acc[f][t] = V::fma(dv, x[t], acc[f][t]);
    }
  }
  for (int f = 0; f < NF && f0 + f < g.no; ++f)
    for (int t = 0; t < NT && t0 + t < g.k; ++t) gw[(f0 + f) * g.k + t0 + t] = V::reduce_add(acc[f][t]);
}

template <class V>
void direct_wgrad(typename V::T* gw, const typename V::T* d, const typename V::T* in, const DirectGeom& g) {
  constexpr int NT = 3, NF = direct_regs<V>() / NT;
  for (i64 f0 = 0; f0 < g.no; f0 += NF)
    for (i64 t0 = 0; t0 < g.k; t0 += NT) direct_wgrad_tile<V, NF, NT>(gw, d, in, g, f0, t0);
}

}  // namespace
}  // namespace fastdl::cpu
