// conv family kernels (see conv.h for the variants and when each runs).
//
// Threads and determinism: every output element is computed by one thread,
// in an order fixed by the shape.
//   forward, pointwise data grad:  (image, group, column tile) items are independent
//   im2col data grad:              one (image, group) per thread; its tiles are
//                                  added into dx in order (tiles overlap at their halos)
//   weight grad:                   images are summed in fixed chunks (count set
//                                  by the shape), one partial gradient per chunk,
//                                  and the partials are added in chunk order
// When there are too few independent items to feed every thread, items run
// one after another and each GEMM uses all threads instead; the GEMM's sums
// do not depend on its thread count, so the result is the same bit for bit.
#include "conv.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "../core/parallel.h"
#include "../core/scratch.h"
#include "gemm/gemm.h"

namespace fastdl::cpu {

namespace {

// ---------------------------------------------------------------------------
// Tuning, chosen on an AMD EPYC Zen 5 (48 KiB L1d, 1 MiB L2 per core) with
// `python -m fastdl bench --op conv2d`:
//   kColTileBytes   one im2col tile; the GEMM packs it once more, so the tile,
//                   its packed copy and the packed weights stay in L2
//   kWeightChunks   images are summed into at most this many partial weight
//                   gradients, added in order at the end (fixed by the shape,
//                   so the sums do not depend on the thread count)
//   kPartialBytes   cap on the memory of those partial gradients
constexpr i64 kColTileBytes = 256 * 1024;
constexpr i64 kWeightChunks = 8;
constexpr i64 kPartialBytes = 16 << 20;

enum class Path { pointwise, depthwise, im2col };

Path choose_path(const Conv2dParams& p) {
  if (p.cg() == 1) return Path::depthwise;
  if (p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.ph == 0 && p.pw == 0)
    return Path::pointwise;
  return Path::im2col;
}

inline i64 min64(i64 a, i64 b) { return a < b ? a : b; }
inline i64 max64(i64 a, i64 b) { return a > b ? a : b; }
inline i64 cdiv0(i64 a, i64 b) { return a <= 0 ? 0 : ceil_div(a, b); }  // ceil(a / b), 0 for a <= 0

// Columns (output pixels) per im2col tile: a multiple of 64 (or all of them).
template <typename T>
i64 tile_cols(i64 kdim, i64 opix) {
  const i64 pt = max64(64, kColTileBytes / (kdim * static_cast<i64>(sizeof(T))) / 64 * 64);
  return min64(pt, opix);
}

// Enough independent items to give every thread the same share (or nearly).
inline bool balanced(i64 items, int threads) {
  return threads == 1 || (items >= threads && (items % threads == 0 || items >= 4 * threads));
}

// Output columns [lo, hi) whose kernel tap kj lands inside the input row:
// 0 <= ow*sw - pw + kj*dw < w.
struct TapRange {
  i64 lo, hi;
};
inline TapRange tap_range(const Conv2dParams& p, i64 kj) {
  const i64 lo = min64(cdiv0(p.pw - kj * p.dw, p.sw), p.ow);
  const i64 hi = max64(lo, min64(cdiv0(p.w + p.pw - kj * p.dw, p.sw), p.ow));
  return {lo, hi};
}

// Calls f(q, o, len, ih) for the pieces of output pixels [p0, p0 + np) that
// lie in one output row: pixels o .. o+len-1 of row oh sit at tile column q
// and read input row ih = oh*sh - ph + ki*dh (possibly outside [0, h)).
template <typename F>
inline void for_row_pieces(const Conv2dParams& p, i64 p0, i64 np, i64 ki, const F& f) {
  i64 q = 0, oh = p0 / p.ow, o = p0 % p.ow;
  while (q < np) {
    const i64 len = min64(p.ow - o, np - q);
    f(q, o, len, oh * p.sh - p.ph + ki * p.dh);
    q += len, o = 0, ++oh;
  }
}

// col (kdim, np) = the im2col rows of output pixels [p0, p0 + np) of one
// image and group: row (cc, ki, kj), column q = x[cc, ih, iw] (0 in the padding).
// x (cg, h, w)
template <typename T>
void im2col_tile(T* __restrict col, const T* __restrict x, const Conv2dParams& p, i64 p0, i64 np,
                 i64 c0, i64 c1) {
  for (i64 cc = c0; cc < c1; ++cc)
    for (i64 ki = 0; ki < p.kh; ++ki)
      for (i64 kj = 0; kj < p.kw; ++kj) {
        T* row = col + ((cc * p.kh + ki) * p.kw + kj) * np;
        const T* xc = x + cc * p.ipix();
        const TapRange t = tap_range(p, kj);
        const i64 shift = kj * p.dw - p.pw;
        for_row_pieces(p, p0, np, ki, [&](i64 q, i64 o, i64 len, i64 ih) {
          T* d = row + q;  // d[j - o] is output pixel (oh, j)
          if (ih < 0 || ih >= p.h) {
            std::fill(d, d + len, T(0));
            return;
          }
          const i64 a = std::clamp(t.lo, o, o + len), b = std::clamp(t.hi, a, o + len);
          const T* xr = xc + ih * p.w;
          std::fill(d, d + (a - o), T(0));
          if (p.sw == 1)
            for (i64 j = a; j < b; ++j) d[j - o] = xr[j + shift];
          else
            for (i64 j = a; j < b; ++j) d[j - o] = xr[j * p.sw + shift];
          std::fill(d + (b - o), d + len, T(0));
        });
      }
}

// dx (cg, h, w) += col2im of dcol (kdim, np) for output pixels [p0, p0 + np),
// channels [c0, c1): the transpose of im2col_tile, rows added in order.
template <typename T>
void col2im_tile(T* __restrict dx, const T* __restrict dcol, const Conv2dParams& p, i64 p0, i64 np,
                 i64 c0, i64 c1) {
  for (i64 cc = c0; cc < c1; ++cc)
    for (i64 ki = 0; ki < p.kh; ++ki)
      for (i64 kj = 0; kj < p.kw; ++kj) {
        const T* row = dcol + ((cc * p.kh + ki) * p.kw + kj) * np;
        T* dc = dx + cc * p.ipix();
        const TapRange t = tap_range(p, kj);
        const i64 shift = kj * p.dw - p.pw;
        for_row_pieces(p, p0, np, ki, [&](i64 q, i64 o, i64 len, i64 ih) {
          if (ih < 0 || ih >= p.h) return;
          const T* s = row + q;  // s[j - o] is output pixel (oh, j)
          const i64 a = std::clamp(t.lo, o, o + len), b = std::clamp(t.hi, a, o + len);
          T* dr = dc + ih * p.w;
          if (p.sw == 1)
            for (i64 j = a; j < b; ++j) dr[j + shift] += s[j - o];
          else
            for (i64 j = a; j < b; ++j) dr[j * p.sw + shift] += s[j - o];
        });
      }
}

// Sum of x[0..n) with 8 interleaved partial sums combined in a fixed tree:
// vectorisable without reassociating, and the order depends only on n.
template <typename T>
T lane_sum(const T* __restrict x, i64 n) {
  T acc[8] = {};
  i64 i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += x[i + l];
  T tail = 0;
  for (; i < n; ++i) tail += x[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

// Dot product of a[0..n) and b[0..n), same scheme as lane_sum.
template <typename T>
T lane_dot(const T* __restrict a, const T* __restrict b, i64 n) {
  T acc[8] = {};
  i64 i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[i + l] * b[i + l];
  T tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

// ---------------------------------------------------------------------------
// depthwise: one input channel per group; output channel f reads input channel
// f / fg. Each channel plane stays in L1 while all kh x kw taps go over it.

// o (oh, ow) = bias + sum over taps of wk[ki, kj] * shifted x plane.
// xp (h, w), wk (kh, kw)
template <typename T>
void depthwise_plane_fwd(T* __restrict o, const T* __restrict xp, const T* wk, T bias,
                         const Conv2dParams& p, const TapRange* tr) {
  for (i64 oh = 0; oh < p.oh; ++oh) {
    T* orow = o + oh * p.ow;
    for (i64 j = 0; j < p.ow; ++j) orow[j] = bias;
    for (i64 ki = 0; ki < p.kh; ++ki) {
      const i64 ih = oh * p.sh - p.ph + ki * p.dh;
      if (ih < 0 || ih >= p.h) continue;
      const T* xr = xp + ih * p.w;
      for (i64 kj = 0; kj < p.kw; ++kj) {
        const T wv = wk[ki * p.kw + kj];
        const i64 shift = kj * p.dw - p.pw;
        if (p.sw == 1)
          for (i64 j = tr[kj].lo; j < tr[kj].hi; ++j) orow[j] += wv * xr[j + shift];
        else
          for (i64 j = tr[kj].lo; j < tr[kj].hi; ++j) orow[j] += wv * xr[j * p.sw + shift];
      }
    }
  }
}

// dxp (h, w) += the data gradient of one output plane dop (oh, ow) through wk (kh, kw).
template <typename T>
void depthwise_plane_bwd_data(T* __restrict dxp, const T* __restrict dop, const T* wk,
                              const Conv2dParams& p, const TapRange* tr) {
  for (i64 oh = 0; oh < p.oh; ++oh) {
    const T* drow = dop + oh * p.ow;
    for (i64 ki = 0; ki < p.kh; ++ki) {
      const i64 ih = oh * p.sh - p.ph + ki * p.dh;
      if (ih < 0 || ih >= p.h) continue;
      T* xr = dxp + ih * p.w;
      for (i64 kj = 0; kj < p.kw; ++kj) {
        const T wv = wk[ki * p.kw + kj];
        const i64 shift = kj * p.dw - p.pw;
        if (p.sw == 1)
          for (i64 j = tr[kj].lo; j < tr[kj].hi; ++j) xr[j + shift] += wv * drow[j];
        else
          for (i64 j = tr[kj].lo; j < tr[kj].hi; ++j) xr[j * p.sw + shift] += wv * drow[j];
      }
    }
  }
}

// gw (kh, kw) = per tap, sum over output pixels of dop (oh, ow) * shifted xp (h, w):
// rows in order, each row by lane_dot (strided rows by a plain loop).
template <typename T>
void depthwise_plane_bwd_weight(T* gw, const T* __restrict dop, const T* __restrict xp,
                                const Conv2dParams& p, const TapRange* tr) {
  for (i64 k = 0; k < p.kh * p.kw; ++k) gw[k] = T(0);
  for (i64 oh = 0; oh < p.oh; ++oh) {
    const T* drow = dop + oh * p.ow;
    for (i64 ki = 0; ki < p.kh; ++ki) {
      const i64 ih = oh * p.sh - p.ph + ki * p.dh;
      if (ih < 0 || ih >= p.h) continue;
      const T* xr = xp + ih * p.w;
      for (i64 kj = 0; kj < p.kw; ++kj) {
        const i64 shift = kj * p.dw - p.pw, lo = tr[kj].lo, hi = tr[kj].hi;
        T s;
        if (p.sw == 1) {
          s = lane_dot(drow + lo, xr + lo + shift, hi - lo);
        } else {
          s = T(0);
          for (i64 j = lo; j < hi; ++j) s += drow[j] * xr[j * p.sw + shift];
        }
        gw[ki * p.kw + kj] += s;
      }
    }
  }
}

template <typename T>
void depthwise_fwd(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  const i64 khw = p.kh * p.kw, fg = p.fg(), planes = p.n * p.f;
  TapRange tr[64];
  TapRange* trp = p.kw <= 64 ? tr : scratch<TapRange>(p.kw, 0);
  for (i64 kj = 0; kj < p.kw; ++kj) trp[kj] = tap_range(p, kj);
  parallel_for(planes, 4, [&](i64 q0, i64 q1) {
    for (i64 q = q0; q < q1; ++q) {
      const i64 n = q / p.f, f = q % p.f;
      depthwise_plane_fwd(out + q * p.opix(), x + (n * p.c + f / fg) * p.ipix(), w + f * khw,
                          bias ? bias[f] : T(0), p, trp);
    }
  });
}

template <typename T>
void depthwise_bwd_data(T* dx, const T* dout, const T* w, const T* bias, const Conv2dParams& p) {
  const i64 khw = p.kh * p.kw, fg = p.fg(), planes = p.n * p.c;
  TapRange tr[64];
  TapRange* trp = p.kw <= 64 ? tr : scratch<TapRange>(p.kw, 0);
  for (i64 kj = 0; kj < p.kw; ++kj) trp[kj] = tap_range(p, kj);
  parallel_for(planes, 4, [&](i64 q0, i64 q1) {
    for (i64 q = q0; q < q1; ++q) {
      const i64 n = q / p.c, c = q % p.c;
      T* dxp = dx + q * p.ipix();
      const T b = bias ? bias[c] : T(0);
      for (i64 i = 0; i < p.ipix(); ++i) dxp[i] = b;
      for (i64 m = 0; m < fg; ++m) {
        const i64 f = c * fg + m;
        depthwise_plane_bwd_data(dxp, dout + (n * p.f + f) * p.opix(), w + f * khw, p, trp);
      }
    }
  });
}

// dx, dw, db of a depthwise conv in one pass over the planes: per (image,
// input channel) the dx plane, and per (image, output channel) partial dw and
// db, summed over images in order afterwards.
template <typename T>
void depthwise_bwd(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, const Conv2dParams& p) {
  const i64 khw = p.kh * p.kw, fg = p.fg(), planes = p.n * p.c;
  if (p.n == 0) {
    std::fill(dw, dw + p.f * khw, T(0));
    if (db) std::fill(db, db + p.f, T(0));
    return;
  }
  // scratch: partial dw (n, f, kh*kw), partial db (n, f), tap ranges (kw)
  const i64 pw_count = checked_mul(checked_mul(p.n, p.f), khw), pb_count = p.n * p.f;
  T* part_w = scratch<T>(pw_count + pb_count, 1);
  T* part_b = part_w + pw_count;
  TapRange tr[64];
  TapRange* trp = p.kw <= 64 ? tr : scratch<TapRange>(p.kw, 0);
  for (i64 kj = 0; kj < p.kw; ++kj) trp[kj] = tap_range(p, kj);
  parallel_for(planes, 4, [&](i64 q0, i64 q1) {
    for (i64 q = q0; q < q1; ++q) {
      const i64 n = q / p.c, c = q % p.c;
      const T* xp = x + q * p.ipix();
      if (dx) {
        T* dxp = dx + q * p.ipix();
        for (i64 i = 0; i < p.ipix(); ++i) dxp[i] = T(0);
        for (i64 m = 0; m < fg; ++m) {
          const i64 f = c * fg + m;
          depthwise_plane_bwd_data(dxp, dout + (n * p.f + f) * p.opix(), w + f * khw, p, trp);
        }
      }
      for (i64 m = 0; m < fg; ++m) {
        const i64 f = c * fg + m;
        const T* dop = dout + (n * p.f + f) * p.opix();
        depthwise_plane_bwd_weight(part_w + (n * p.f + f) * khw, dop, xp, p, trp);
        if (db) part_b[n * p.f + f] = lane_sum(dop, p.opix());
      }
    }
  });
  parallel_for(p.f, 16, [&](i64 f0, i64 f1) {
    for (i64 f = f0; f < f1; ++f) {
      for (i64 k = 0; k < khw; ++k) {
        T s = part_w[f * khw + k];
        for (i64 n = 1; n < p.n; ++n) s += part_w[(n * p.f + f) * khw + k];
        dw[f * khw + k] = s;
      }
      if (db) {
        T s = part_b[f];
        for (i64 n = 1; n < p.n; ++n) s += part_b[n * p.f + f];
        db[f] = s;
      }
    }
  });
}

// ---------------------------------------------------------------------------
// pointwise and im2col

// Work item q of a forward-like pass: (image n, group g, column tile t).
struct Item {
  i64 n, g, p0, np;
};
inline Item item_of(i64 q, i64 groups, i64 ntiles, i64 pt, i64 opix) {
  const i64 t = q % ntiles, ng = q / ntiles;
  return {ng / groups, ng % groups, t * pt, min64(pt, opix - t * pt)};
}

// out[n, g, :, p0:p0+np] (fg, np) = w_g (fg, kdim) @ col (kdim, np) (+ bias)
template <typename T>
void fwd_item(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p, Path path,
              const Item& it, T* col, T* gws) {
  const i64 K = p.kdim(), P = p.opix(), fg = p.fg(), cg = p.cg();
  const T* xg = x + (it.n * p.c + it.g * cg) * p.ipix();
  Mat<const T> b{xg + it.p0, P, 1};  // pointwise: x itself is the column matrix
  if (path == Path::im2col) {
    im2col_tile(col, xg, p, it.p0, it.np, 0, cg);
    b = Mat<const T>{col, it.np, 1};
  }
  T* og = out + (it.n * p.f + it.g * fg) * P + it.p0;
  if (bias)
    for (i64 f = 0; f < fg; ++f) std::fill(og + f * P, og + f * P + it.np, bias[it.g * fg + f]);
  gemm<T>(fg, it.np, K, T(1), {w + it.g * fg * K, K, 1}, b, bias ? T(1) : T(0), {og, P, 1}, gws, 1);
}

}  // namespace

template <typename T>
void conv2d_fwd(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  if (p.n == 0) return;
  const Path path = choose_path(p);
  if (path == Path::depthwise) return depthwise_fwd(out, x, w, bias, p);
  const i64 K = p.kdim(), P = p.opix(), fg = p.fg();
  const i64 pt = tile_cols<T>(K, P), ntiles = ceil_div(P, pt);
  const i64 items = p.n * p.groups * ntiles;
  const int threads = num_threads();
  const i64 col_each = path == Path::im2col ? round_up(checked_mul(K, pt), 16) : 0;
  const i64 each = col_each + round_up(gemm_workspace<T>(fg, pt, K, 1), 16);
  T* ws = scratch<T>(checked_mul(each, threads), 0);
  parallel_for(items, 1, threads, [&](i64 q0, i64 q1) {
    T* col = ws + omp_get_thread_num() * each;
    for (i64 q = q0; q < q1; ++q)
      fwd_item(out, x, w, bias, p, path, item_of(q, p.groups, ntiles, pt, P), col, col + col_each);
  });
}

template <typename T>
void conv2d_bwd_data(T* dx, const T* dout, const T* w, const T* bias, const Conv2dParams& p) {
  if (p.n == 0) return;
  const Path path = choose_path(p);
  if (path == Path::depthwise) return depthwise_bwd_data(dx, dout, w, bias, p);
  const i64 K = p.kdim(), P = p.opix(), fg = p.fg(), cg = p.cg(), HW = p.ipix();
  const i64 pt = tile_cols<T>(K, P), ntiles = ceil_div(P, pt);
  const int threads = num_threads();

  if (path == Path::pointwise) {
    // dx[n, g, :, tile] (cg, np) = w_g^T (cg, fg) @ dout[n, g, :, tile] (fg, np) (+ bias):
    // independent items, no col2im.
    const i64 items = p.n * p.groups * ntiles;
    const i64 each = round_up(gemm_workspace<T>(cg, pt, fg, 1), 16);
    T* ws = scratch<T>(checked_mul(each, threads), 0);
    parallel_for(items, 1, threads, [&](i64 q0, i64 q1) {
      T* gws = ws + omp_get_thread_num() * each;
      for (i64 q = q0; q < q1; ++q) {
        const Item it = item_of(q, p.groups, ntiles, pt, P);
        T* d = dx + (it.n * p.c + it.g * cg) * HW + it.p0;
        if (bias)
          for (i64 c = 0; c < cg; ++c) std::fill(d + c * HW, d + c * HW + it.np, bias[it.g * cg + c]);
        gemm<T>(cg, it.np, fg, T(1), {w + it.g * fg * K, 1, K},
                {dout + (it.n * p.f + it.g * fg) * P + it.p0, P, 1}, bias ? T(1) : T(0),
                {d, HW, 1}, gws, 1);
      }
    });
    return;
  }

  // im2col: per (image, group), dcol (K, np) = w_g^T (K, fg) @ dout tile (fg, np),
  // then dx[n, g] += col2im(dcol), tile after tile.
  const i64 units = p.n * p.groups;
  auto init_unit = [&](T* dxg, i64 g, i64 c0, i64 c1) {
    for (i64 c = c0; c < c1; ++c) std::fill(dxg + c * HW, dxg + (c + 1) * HW, bias ? bias[g * cg + c] : T(0));
  };
  if (balanced(units, threads)) {
    const i64 col_each = round_up(checked_mul(K, pt), 16);
    const i64 each = col_each + round_up(gemm_workspace<T>(K, pt, fg, 1), 16);
    T* ws = scratch<T>(checked_mul(each, threads), 0);
    parallel_for(units, 1, threads, [&](i64 u0, i64 u1) {
      T* dcol = ws + omp_get_thread_num() * each;
      for (i64 u = u0; u < u1; ++u) {
        const i64 n = u / p.groups, g = u % p.groups;
        T* dxg = dx + (n * p.c + g * cg) * HW;
        init_unit(dxg, g, 0, cg);
        for (i64 p0 = 0; p0 < P; p0 += pt) {
          const i64 np = min64(pt, P - p0);
          gemm<T>(K, np, fg, T(1), {w + g * fg * K, 1, K}, {dout + (n * p.f + g * fg) * P + p0, P, 1},
                  T(0), {dcol, np, 1}, dcol + col_each, 1);
          col2im_tile(dxg, dcol, p, p0, np, 0, cg);
        }
      }
    });
    return;
  }
  // Few units: one at a time, all threads in each GEMM, channels split in col2im.
  T* dcol = scratch<T>(checked_mul(K, pt), 0);
  for (i64 u = 0; u < units; ++u) {
    const i64 n = u / p.groups, g = u % p.groups;
    T* dxg = dx + (n * p.c + g * cg) * HW;
    parallel_for(cg, 1, threads, [&](i64 c0, i64 c1) { init_unit(dxg, g, c0, c1); });
    for (i64 p0 = 0; p0 < P; p0 += pt) {
      const i64 np = min64(pt, P - p0);
      gemm<T>(K, np, fg, T(1), {w + g * fg * K, 1, K}, {dout + (n * p.f + g * fg) * P + p0, P, 1}, T(0),
              {dcol, np, 1});
      parallel_for(cg, 1, threads, [&](i64 c0, i64 c1) { col2im_tile(dxg, dcol, p, p0, np, c0, c1); });
    }
  }
}

namespace {

// dw (f, cg, kh, kw) = sum over images of dout[n, g] (fg, P) @ col[n, g]^T (P, K), per group.
template <typename T>
void weight_grad(T* dw, const T* dout, const T* x, const Conv2dParams& p, Path path) {
  const i64 K = p.kdim(), P = p.opix(), fg = p.fg(), cg = p.cg(), wsize = p.f * K;
  if (p.n == 0) {
    std::fill(dw, dw + wsize, T(0));
    return;
  }
  const i64 pt = tile_cols<T>(K, P);
  const i64 wbytes = checked_mul(wsize, static_cast<i64>(sizeof(T)));
  const i64 nchunks = std::clamp(kPartialBytes / wbytes, i64{1}, min64(p.n, kWeightChunks));
  const int threads = num_threads();
  const bool im2col = path == Path::im2col;

  // Partial gradient of images [n0, n1) into dst (f, K): each image's tiles
  // add onto it in order (the first contribution overwrites).
  auto chunk = [&](T* dst, i64 n0, i64 n1, T* col, T* gws, int gthreads) {
    for (i64 n = n0; n < n1; ++n)
      for (i64 g = 0; g < p.groups; ++g) {
        const T* xg = x + (n * p.c + g * cg) * p.ipix();
        for (i64 p0 = 0; p0 < P; p0 += pt) {
          const i64 np = min64(pt, P - p0);
          Mat<const T> bt{xg + p0, 1, P};  // col^T (np, K): pointwise reads x itself
          if (im2col) {
            if (gthreads == 1)
              im2col_tile(col, xg, p, p0, np, 0, cg);
            else
              parallel_for(cg, 1, gthreads, [&](i64 c0, i64 c1) { im2col_tile(col, xg, p, p0, np, c0, c1); });
            bt = Mat<const T>{col, 1, np};
          }
          const bool first = n == n0 && p0 == 0;
          const Mat<const T> a{dout + (n * p.f + g * fg) * P + p0, P, 1};
          const Mat<T> c{dst + g * fg * K, K, 1};
          if (gthreads == 1)
            gemm<T>(fg, K, np, T(1), a, bt, first ? T(0) : T(1), c, gws, 1);
          else
            gemm<T>(fg, K, np, T(1), a, bt, first ? T(0) : T(1), c);
        }
      }
  };

  T* part = nchunks == 1 ? dw : scratch<T>(checked_mul(nchunks, wsize), 1);
  if (balanced(nchunks, threads)) {
    const i64 col_each = im2col ? round_up(checked_mul(K, pt), 16) : 0;
    const i64 each = col_each + round_up(gemm_workspace<T>(fg, K, pt, 1), 16);
    T* ws = scratch<T>(checked_mul(each, threads), 0);
    parallel_for(nchunks, 1, threads, [&](i64 k0, i64 k1) {
      T* col = ws + omp_get_thread_num() * each;
      for (i64 k = k0; k < k1; ++k)
        chunk(part + k * wsize, p.n * k / nchunks, p.n * (k + 1) / nchunks, col, col + col_each, 1);
    });
  } else {
    T* col = im2col ? scratch<T>(checked_mul(K, pt), 0) : nullptr;
    for (i64 k = 0; k < nchunks; ++k)
      chunk(part + k * wsize, p.n * k / nchunks, p.n * (k + 1) / nchunks, col, nullptr, threads);
  }
  if (nchunks > 1)
    parallel_for(wsize, 4096, threads, [&](i64 i0, i64 i1) {
      for (i64 i = i0; i < i1; ++i) {
        T s = part[i];
        for (i64 k = 1; k < nchunks; ++k) s += part[k * wsize + i];
        dw[i] = s;
      }
    });
}

}  // namespace

template <typename T>
void conv2d_bwd(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, const Conv2dParams& p) {
  const Path path = choose_path(p);
  if (path == Path::depthwise) return depthwise_bwd(dx, dw, db, dout, x, w, p);
  if (dx) conv2d_bwd_data(dx, dout, w, static_cast<const T*>(nullptr), p);
  weight_grad(dw, dout, x, p, path);
  if (db) conv_bias_grad(db, dout, p.n, p.f, p.opix());
}

template <typename T>
void conv_bias_grad(T* db, const T* dout, i64 n, i64 f, i64 hw) {
  parallel_for(f, n * hw >= 4096 ? 1 : f, [&](i64 f0, i64 f1) {
    for (i64 j = f0; j < f1; ++j) {
      T s = T(0);
      for (i64 i = 0; i < n; ++i) s += lane_sum(dout + (i * f + j) * hw, hw);
      db[j] = s;
    }
  });
}

#define FASTDL_INSTANTIATE(T)                                                                     \
  template void conv2d_fwd<T>(T*, const T*, const T*, const T*, const Conv2dParams&);             \
  template void conv2d_bwd_data<T>(T*, const T*, const T*, const T*, const Conv2dParams&);        \
  template void conv2d_bwd<T>(T*, T*, T*, const T*, const T*, const T*, const Conv2dParams&);     \
  template void conv_bias_grad<T>(T*, const T*, i64, i64, i64);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
