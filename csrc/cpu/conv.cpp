// conv family kernels (see conv.h for the variants and when each runs).
//
// Every non-depthwise variant drives the GEMM engine's micro-kernel
// (gemm/gemm.h: the active ISA's ukernel, mr, nr, kc) with conv's own
// packing; the loops around it are BLIS's (B block, nr-column panels,
// mr-row panels). Sections below, in order: helpers; depthwise; implicit
// GEMM (im2col straight into B panels; col2im data gradient); shifted GEMM
// (band copies; its header comment has the derivation); the entry points.
//
// Threads and determinism: every output element is computed by one thread,
// in an order fixed by the shape.
//   forward, shifted data grad:  (image, group, band or block) items are independent
//   col2im data grad:            one (image, group) per thread; its tiles add
//                                into dx in order (tiles overlap at their halos)
//   weight grad:                 images are summed in fixed chunks (count set
//                                by the shape), one partial gradient per chunk,
//                                added in chunk order; threads take whole chunks,
//                                or, when there are too few, split the
//                                gradient's columns
// When too few independent items feed every thread, the GEMM-based col2im
// pass runs items one after another with all threads in each GEMM; the
// GEMM's sums do not depend on its thread count, so results do not either.
#include "conv.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "../core/isa.h"
#include "../core/parallel.h"
#include "../core/scratch.h"
#include "conv_depthwise.h"
#include "conv_winograd.h"
#include "stream.h"
#include "conv_direct_simd.h"
#include "gemm/gemm.h"
#include "reduce.h"

namespace fastdl::cpu {

// The depthwise plane kernels at baseline width (conv_avx2.cpp, conv_avx512.cpp: wider).
namespace generic {
namespace {
constexpr int kVecBytes = 16;
#include "conv_depthwise_simd.h"
}  // namespace

template <typename T>
DwKernels<T> depthwise_kernels() {
  return {dw_pad<T>, dw_fwd_dispatch<T>, dw_wgrad_dispatch<T>, dw_sum<T>};
}
template DwKernels<float> depthwise_kernels<float>();
template DwKernels<double> depthwise_kernels<double>();

template <typename T>
DirectKernels<T> direct_kernels() {
  return {direct_fwd<Scalar<T>>, direct_wgrad<Scalar<T>>, 1};
}
template DirectKernels<float> direct_kernels<float>();
template DirectKernels<double> direct_kernels<double>();
}  // namespace generic

namespace {

// ---------------------------------------------------------------------------
// Tuning, chosen on an AMD EPYC Zen 5 (48 KiB L1d, 1 MiB L2 per core) with
// `python -m fastdl bench --op conv2d`:
//   kBlockBytes     one packed B block (kc x nc): with the packed weights and
//                   the C block it stays in L2
//   kBandBytes      shifted GEMM: one padded input band (a few output rows
//                   of one image and group, with their halo)
//   kShiftedMinChannels  fewer input channels per group than this: the
//                   band holds one plane per tap (a shifted-GEMM call would
//                   sum too few terms), and the data gradient uses col2im
//   kTransposedMinK pixels-as-rows orientation only when each output sums at
//                   least this many products (its copy out is strided)
//   kColTileBytes   col2im data gradient: one dcol tile
//   kWeightChunks   images are summed into at most this many partial weight
//                   gradients, added in order at the end (fixed by the shape,
//                   so the sums do not depend on the thread count)
//   kPartialBytes   cap on the memory of those partial gradients
//   kDirectMaxChannels  direct kernels (stride 1, one group, not 1x1) for
//                   at most this many input channels: measured faster
//                   than the im2col and shifted paths for c = 3, 4, 8, 16
//                   (3x3, 5x5, 7x7 on 32x32 images, 32 filters)
//   kDirectImageBytes  direct kernels only while one image's padded x (and,
//                   for the data gradient, padded dout) is at most this
//                   large: it is per-thread workspace
//   kPackGrain      weight packing: values per thread at least (smaller
//                   packs run on one thread)
constexpr i64 kBlockBytes = 256 * 1024;
constexpr i64 kBandBytes = 512 * 1024;
constexpr i64 kShiftedMinChannels = 16;
constexpr i64 kTransposedMinK = 128;
constexpr i64 kColTileBytes = 1024 * 1024;
constexpr i64 kWeightChunks = 8;
constexpr i64 kPartialBytes = 16 << 20;
constexpr i64 kDirectMaxChannels = 16;
constexpr i64 kDirectImageBytes = 8 << 20;
constexpr i64 kPackGrain = 32768;

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

// Row k = (cc, ki, kj) of one image and group's im2col matrix, output pixels
// [p0, p0 + np): row[q] = x[cc, ih, iw] of pixel p0 + q (0 in the padding).
// Returns row, or for a pointwise conv (where the row is x's channel itself) a
// pointer into x. xg (cg, h, w)
template <typename T>
const T* im2col_row(T* __restrict row, const T* __restrict xg, const Conv2dParams& p, i64 k, i64 p0, i64 np,
                    bool pointwise) {
  const i64 khw = p.kh * p.kw, cc = k / khw, ki = (k / p.kw) % p.kh, kj = k % p.kw;
  const T* xc = xg + cc * p.ipix();
  if (pointwise) return xc + p0;
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
  return row;
}

// dxp (cg, h + 2 ph, w + 2 pw) += col2im of dcol (kdim, np) for output
// pixels [p0, p0 + np), channels [c0, c1) -- the transpose of im2col, rows
// added in order -- on a zero-padded dx, so no tap needs a bounds check.
template <typename T>
void col2im_padded(T* __restrict dxp, const T* __restrict dcol, const Conv2dParams& p, i64 p0, i64 np, i64 c0,
                   i64 c1) {
  const i64 hp = p.h + 2 * p.ph, wp = p.w + 2 * p.pw;
  for (i64 cc = c0; cc < c1; ++cc)
    for (i64 ki = 0; ki < p.kh; ++ki)
      for (i64 kj = 0; kj < p.kw; ++kj) {
        const T* row = dcol + ((cc * p.kh + ki) * p.kw + kj) * np;
        T* dc = dxp + cc * hp * wp + kj * p.dw;
        for_row_pieces(p, p0, np, ki, [&](i64 q, i64 o, i64 len, i64 ih) {
          T* dr = dc + (ih + p.ph) * wp + o * p.sw;  // ih + ph: the padded row, always inside
          const T* s = row + q;
          if (p.sw == 1)
            for (i64 j = 0; j < len; ++j) dr[j] += s[j];
          else
            for (i64 j = 0; j < len; ++j) dr[j * p.sw] += s[j];
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

// ---------------------------------------------------------------------------
// depthwise: one input channel per group; output channel f = c*fg + m reads
// input channel c. Per (image, input channel) the plane is zero-padded once
// (it stays in L1) and the active ISA's plane kernels (conv_depthwise.h) run
// over it with every tap in bounds.

template <typename T>
DwKernels<T> dw_kernels() {
  switch (isa_active()) {
    case Isa::avx512: return avx512::depthwise_kernels<T>();
    case Isa::avx2: return avx2::depthwise_kernels<T>();
    default: return generic::depthwise_kernels<T>();
  }
}

inline DwPlane dw_plane(const Conv2dParams& p) {
  return {p.oh, p.ow, p.kh, p.kw, p.sh, p.sw, p.dh, p.dw, p.w + 2 * p.pw};
}

// A stride-1 depthwise data gradient is the forward kernel over dout padded by
// e = d(k-1) - p with the taps flipped (e >= 0 needed).
// (conv_transpose2d's output_padding with stride 1 and dilation > 1 leaves
// dx rows or columns that no output reads; the forward over the padded dout
// would not write them, so those shapes take the scatter path.)
inline bool dw_dx_is_fwd(const Conv2dParams& p) {
  return p.sh == 1 && p.sw == 1 && p.ph <= p.dh * (p.kh - 1) && p.pw <= p.dw * (p.kw - 1) &&
         p.oh + p.dh * (p.kh - 1) - 2 * p.ph == p.h && p.ow + p.dw * (p.kw - 1) - 2 * p.pw == p.w;
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

// Per-thread planes of the depthwise passes: padded x, padded dout (dx as a forward).
struct DwScratch {
  i64 xp, dp, each;
};
inline DwScratch dw_scratch(const Conv2dParams& p) {
  const i64 xp = round_up((p.h + 2 * p.ph) * (p.w + 2 * p.pw), 16);
  const i64 eh = p.dh * (p.kh - 1) - p.ph, ew = p.dw * (p.kw - 1) - p.pw;
  const i64 dp = dw_dx_is_fwd(p) ? round_up((p.oh + 2 * eh) * (p.ow + 2 * ew), 16) : 0;
  return {xp, dp, xp + dp};
}

// dxp (h, w) = bias + the data gradient of input channel c of image n.
// wf: the taps flipped (f, kh*kw) when dw_dx_is_fwd (dp: a padded dout plane),
// else null (the scatter path).
template <typename T>
void depthwise_plane_dx(T* dxp, const T* dout, const T* w, const T* wf, T bias, i64 n, i64 c, const Conv2dParams& p,
                        const DwKernels<T>& k, T* dp, const TapRange* tr) {
  const i64 fg = p.fg(), khw = p.kh * p.kw;
  if (wf) {
    const i64 eh = p.dh * (p.kh - 1) - p.ph, ew = p.dw * (p.kw - 1) - p.pw;
    const DwPlane g{p.h, p.w, p.kh, p.kw, 1, 1, p.dh, p.dw, p.ow + 2 * ew};
    for (i64 m = 0; m < fg; ++m) {
      const i64 f = c * fg + m;
      k.pad(dp, dout + (n * p.f + f) * p.opix(), p.oh, p.ow, eh, ew);
      k.fwd(dxp, dp, wf + f * khw, bias, m > 0, g);
    }
    return;
  }
  std::fill(dxp, dxp + p.ipix(), bias);
  for (i64 m = 0; m < fg; ++m) {
    const i64 f = c * fg + m;
    depthwise_plane_bwd_data(dxp, dout + (n * p.f + f) * p.opix(), w + f * khw, p, tr);
  }
}

// The taps of w (f, kh*kw) reversed, in scratch slot 2 (dx as a forward), or null.
template <typename T>
const T* dw_flipped(const T* w, const Conv2dParams& p) {
  if (!dw_dx_is_fwd(p)) return nullptr;
  const i64 khw = p.kh * p.kw;
  T* wf = scratch<T>(checked_mul(p.f, khw), 2);
  for (i64 f = 0; f < p.f; ++f)
    for (i64 t = 0; t < khw; ++t) wf[f * khw + t] = w[f * khw + khw - 1 - t];
  return wf;
}

// Column ranges of the scatter data gradient, in scratch slot 3 (null when unused).
inline const TapRange* dw_taps(const Conv2dParams& p) {
  if (dw_dx_is_fwd(p)) return nullptr;
  TapRange* tr = scratch<TapRange>(p.kw, 3);
  for (i64 kj = 0; kj < p.kw; ++kj) tr[kj] = tap_range(p, kj);
  return tr;
}

template <typename T>
void depthwise_fwd(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  const DwKernels<T> k = dw_kernels<T>();
  const DwPlane g = dw_plane(p);
  const DwScratch sz = dw_scratch(p);
  const i64 khw = p.kh * p.kw, fg = p.fg();
  const int threads = num_threads();
  T* ws = scratch<T>(checked_mul(sz.each, threads), 0);
  parallel_for(p.n * p.c, 4, threads, [&](i64 q0, i64 q1) {
    T* xp = ws + omp_get_thread_num() * sz.each;
    for (i64 q = q0; q < q1; ++q) {
      const i64 n = q / p.c, c = q % p.c;
      k.pad(xp, x + q * p.ipix(), p.h, p.w, p.ph, p.pw);
      for (i64 m = 0; m < fg; ++m) {
        const i64 f = c * fg + m;
        k.fwd(out + (n * p.f + f) * p.opix(), xp, w + f * khw, bias ? bias[f] : T(0), false, g);
      }
    }
  });
}

template <typename T>
void depthwise_bwd_data(T* dx, const T* dout, const T* w, const T* bias, const Conv2dParams& p) {
  const DwKernels<T> k = dw_kernels<T>();
  const DwScratch sz = dw_scratch(p);
  const T* wf = dw_flipped(w, p);
  const TapRange* tr = dw_taps(p);
  const int threads = num_threads();
  T* ws = scratch<T>(checked_mul(sz.each, threads), 0);
  parallel_for(p.n * p.c, 4, threads, [&](i64 q0, i64 q1) {
    T* dp = ws + omp_get_thread_num() * sz.each + sz.xp;
    for (i64 q = q0; q < q1; ++q)
      depthwise_plane_dx(dx + q * p.ipix(), dout, w, wf, bias ? bias[q % p.c] : T(0), q / p.c, q % p.c, p, k, dp,
                         tr);
  });
}

// dx, dw, db of a depthwise conv in one pass over the planes: per (image,
// input channel) the dx plane, and per (image, output channel) partial dw and
// db, summed over images in order afterwards.
template <typename T>
void depthwise_bwd(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, const Conv2dParams& p) {
  const i64 khw = p.kh * p.kw, fg = p.fg();
  if (p.n == 0) {
    std::fill(dw, dw + p.f * khw, T(0));
    if (db) std::fill(db, db + p.f, T(0));
    return;
  }
  const DwKernels<T> k = dw_kernels<T>();
  const DwPlane g = dw_plane(p);
  const DwScratch sz = dw_scratch(p);
  const T* wf = dx ? dw_flipped(w, p) : nullptr;
  const TapRange* tr = dx ? dw_taps(p) : nullptr;
  // scratch: partial dw (n, f, kh*kw), partial db (n, f)
  // (the flipped-tap weight sums go through a 64-value stack buffer)
  const i64 pw_count = checked_mul(checked_mul(p.n, p.f), khw), pb_count = p.n * p.f;
  T* part_w = scratch<T>(pw_count + pb_count, 1);
  T* part_b = part_w + pw_count;
  const int threads = num_threads();
  T* ws = scratch<T>(checked_mul(sz.each, threads), 0);
  // Stride 1 with p <= d(k-1): dout is padded once per plane and serves both
  // dx (the forward kernel, flipped taps) and dw: sum over the input pixels of
  // x * the padded dout, which is the weight kernel with x as "dout" and the
  // taps flipped. Otherwise x is padded for dw and dx is scattered.
  const bool via_dout = dw_dx_is_fwd(p) && khw <= 64;
  const i64 eh = p.dh * (p.kh - 1) - p.ph, ew = p.dw * (p.kw - 1) - p.pw;
  const DwPlane gd{p.h, p.w, p.kh, p.kw, 1, 1, p.dh, p.dw, p.ow + 2 * ew};
  parallel_for(p.n * p.c, 4, threads, [&](i64 q0, i64 q1) {
    T* xp = ws + omp_get_thread_num() * sz.each;
    T* dp = xp + sz.xp;
    T flipped[64];
    for (i64 q = q0; q < q1; ++q) {
      const i64 n = q / p.c, c = q % p.c;
      const T* xq = x + q * p.ipix();
      if (!via_dout) {
        if (dx) depthwise_plane_dx(dx + q * p.ipix(), dout, w, wf, T(0), n, c, p, k, dp, tr);
        k.pad(xp, xq, p.h, p.w, p.ph, p.pw);
      }
      for (i64 m = 0; m < fg; ++m) {
        const i64 f = c * fg + m;
        const T* df = dout + (n * p.f + f) * p.opix();
        T* gw = part_w + (n * p.f + f) * khw;
        if (db) part_b[n * p.f + f] = k.sum(df, p.opix());
        if (!via_dout) {
          k.wgrad(gw, nullptr, df, xp, g);
          continue;
        }
        k.pad(dp, df, p.oh, p.ow, eh, ew);
        if (dx) k.fwd(dx + q * p.ipix(), dp, wf + f * khw, T(0), m > 0, gd);
        k.wgrad(flipped, nullptr, xq, dp, gd);
        for (i64 t = 0; t < khw; ++t) gw[t] = flipped[khw - 1 - t];
      }
    }
  });
  parallel_for(p.f, 16, threads, [&](i64 f0, i64 f1) {
    for (i64 f = f0; f < f1; ++f) {
      for (i64 t = 0; t < khw; ++t) {
        T s = part_w[f * khw + t];
        for (i64 n = 1; n < p.n; ++n) s += part_w[(n * p.f + f) * khw + t];
        dw[f * khw + t] = s;
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
// direct: few input channels, stride 1, one group (a 3-channel first layer).
// K = c*kh*kw is too short for the GEMM micro-kernel to pay off, so the
// passes are direct register-tiled kernels (conv_direct.h) on one image at a
// time, its input zero-padded once per image:
//   forward     x padded by p
//   data grad   a forward of dout padded by d(k-1) - p, the taps flipped
//               (needs dw_dx_is_fwd; otherwise col2im)
//   weight      per image, dout against the taps of padded x; images summed
//               in kWeightChunks fixed chunks, the chunks added in order;
//               one pass with the data gradient and the bias sums, so dout
//               comes from memory once

template <typename T>
DirectKernels<T> direct_table() {
  switch (isa_active()) {
    case Isa::avx512: return avx512::direct_kernels<T>();
    case Isa::avx2: return avx2::direct_kernels<T>();
    default: return generic::direct_kernels<T>();
  }
}

// One image's padded x (per thread) is at most kDirectImageBytes.
template <typename T>
bool use_direct(const Conv2dParams& p) {
  const i64 bytes = checked_mul(checked_mul(p.c, (p.h + 2 * p.ph) * (p.w + 2 * p.pw)), static_cast<i64>(sizeof(T)));
  return p.groups == 1 && p.sh == 1 && p.sw == 1 && p.c <= kDirectMaxChannels && choose_path(p) == Path::im2col &&
         bytes <= kDirectImageBytes;
}

// The data gradient as a direct forward: its padded dout image (per thread) at most kDirectImageBytes.
template <typename T>
bool use_direct_data(const Conv2dParams& p) {
  if (!use_direct<T>(p) || !dw_dx_is_fwd(p)) return false;
  const i64 hp = p.oh + 2 * (p.dh * (p.kh - 1) - p.ph), wp = p.ow + 2 * (p.dw * (p.kw - 1) - p.pw);
  return checked_mul(checked_mul(p.f, hp * wp), static_cast<i64>(sizeof(T))) <= kDirectImageBytes;
}

// One image's padded input for a direct kernel: (planes, hp, wp) plus
// `lanes` zeros (a row's last vector loads whole registers: past the last
// plane by up to lanes - 1 values).
struct DirectPad {
  i64 planes, h, w, ph, pw, hp, wp, size;
};
inline DirectPad direct_pad(i64 planes, i64 h, i64 w, i64 ph, i64 pw, int lanes) {
  const i64 hp = h + 2 * ph, wp = w + 2 * pw;
  return {planes, h, w, ph, pw, hp, wp, round_up(checked_mul(planes, hp * wp) + lanes, 16)};
}

// xp = the planes of src (planes, h, w) zero-padded, then zeros to the end.
template <typename T>
void direct_fill(T* xp, const T* src, const DirectPad& d, const DwKernels<T>& k) {
  for (i64 c = 0; c < d.planes; ++c) k.pad(xp + c * d.hp * d.wp, src + c * d.h * d.w, d.h, d.w, d.ph, d.pw);
  std::fill(xp + d.planes * d.hp * d.wp, xp + d.size, T(0));
}

// off (planes*kh*kw,): tap (ci, ki, kj) at ci*hp*wp + ki*dh*wp + kj*dw of a padded input.
inline const i64* direct_offsets(i64* off, i64 planes, const DirectPad& d, const Conv2dParams& p) {
  for (i64 c = 0; c < planes; ++c)
    for (i64 ki = 0; ki < p.kh; ++ki)
      for (i64 kj = 0; kj < p.kw; ++kj)
        off[(c * p.kh + ki) * p.kw + kj] = c * d.hp * d.wp + ki * p.dh * d.wp + kj * p.dw;
  return off;
}

// out (n, f, oh, ow) = conv2d(x, w) + bias. wt (K, ldw) = w^T, zero columns past f.
template <typename T>
void direct_conv_fwd(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  const DirectKernels<T> kern = direct_table<T>();
  const DwKernels<T> dk = dw_kernels<T>();
  const i64 K = p.kdim(), ldw = round_up(p.f, 8);
  const DirectPad d = direct_pad(p.c, p.h, p.w, p.ph, p.pw, kern.lanes);
  T* wt = scratch<T>(checked_mul(K, ldw), 2);
  for (i64 k = 0; k < K; ++k)
    for (i64 o = 0; o < ldw; ++o) wt[k * ldw + o] = o < p.f ? w[o * K + k] : T(0);
  const DirectGeom g{p.f, K, p.oh, p.ow, d.wp, direct_offsets(scratch<i64>(K, 3), p.c, d, p)};
  const int threads = num_threads();
  T* ws = scratch<T>(checked_mul(d.size, threads), 0);
  parallel_for(p.n, 1, threads, [&](i64 n0, i64 n1) {
    T* xp = ws + omp_get_thread_num() * d.size;
    for (i64 n = n0; n < n1; ++n) {
      direct_fill(xp, x + n * p.c * p.ipix(), d, dk);
      kern.fwd(out + n * p.f * p.opix(), xp, wt, ldw, bias, g);
    }
  });
}

// The data gradient as a forward of dout padded by e = d(k-1) - p with the
// taps flipped: wt (f*kh*kw, ldw) in scratch slot 2, row (fo, ki, kj) =
// w[fo, :, kh-1-ki, kw-1-kj]; tap offsets written to off (f*kh*kw,).
template <typename T>
struct DirectData {
  DirectPad d;   // one image's padded dout
  DirectGeom g;  // dx (c, h, w) of one image
  const T* wt;
  i64 ldw;
};

template <typename T>
DirectData<T> direct_data(const T* w, const Conv2dParams& p, int lanes, i64* off) {
  const i64 khw = p.kh * p.kw, K = p.f * khw, ldw = round_up(p.c, 8);
  const i64 eh = p.dh * (p.kh - 1) - p.ph, ew = p.dw * (p.kw - 1) - p.pw;
  const DirectPad d = direct_pad(p.f, p.oh, p.ow, eh, ew, lanes);
  T* wt = scratch<T>(checked_mul(K, ldw), 2);
  for (i64 fo = 0; fo < p.f; ++fo)
    for (i64 t = 0; t < khw; ++t)
      for (i64 o = 0; o < ldw; ++o)
        wt[(fo * khw + t) * ldw + o] = o < p.c ? w[(fo * p.c + o) * khw + khw - 1 - t] : T(0);
  return {d, {p.c, K, p.h, p.w, d.wp, direct_offsets(off, p.f, d, p)}, wt, ldw};
}

// dx (n, c, h, w) = data gradient + bias, one image per item.
template <typename T>
void direct_conv_bwd_data(T* dx, const T* dout, const T* w, const T* bias, const Conv2dParams& p) {
  const DirectKernels<T> kern = direct_table<T>();
  const DwKernels<T> dk = dw_kernels<T>();
  const DirectData<T> e = direct_data(w, p, kern.lanes, scratch<i64>(p.f * p.kh * p.kw, 3));
  const int threads = num_threads();
  T* ws = scratch<T>(checked_mul(e.d.size, threads), 0);
  parallel_for(p.n, 1, threads, [&](i64 n0, i64 n1) {
    T* dp = ws + omp_get_thread_num() * e.d.size;
    for (i64 n = n0; n < n1; ++n) {
      direct_fill(dp, dout + n * p.f * p.opix(), e.d, dk);
      kern.fwd(dx + n * p.c * p.ipix(), dp, e.wt, e.ldw, bias, e.g);
    }
  });
}

// dx (may be null), dw, db (may be null) in one pass over the images (n > 0),
// so that each image's dout is read from memory once: padded for dx, then
// read again from cache by the weight gradient and the bias sums. Per image
// gw (f, K) goes to a per-thread buffer and is added into its chunk's
// partial in image order (kWeightChunks chunks, whole chunks per thread);
// the chunks, and the per-image bias sums, are added in order at the end.
template <typename T>
void direct_conv_bwd(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, const Conv2dParams& p) {
  const DirectKernels<T> kern = direct_table<T>();
  const DwKernels<T> dk = dw_kernels<T>();
  const i64 K = p.kdim(), wsize = p.f * K, P = p.opix();
  const DirectPad d = direct_pad(p.c, p.h, p.w, p.ph, p.pw, kern.lanes);
  i64* off = scratch<i64>(checked_mul(p.c + (dx ? p.f : 0), p.kh * p.kw), 3);
  const DirectGeom g{p.f, K, p.oh, p.ow, d.wp, direct_offsets(off, p.c, d, p)};
  const DirectData<T> e = dx ? direct_data(w, p, kern.lanes, off + K) : DirectData<T>{};
  const i64 nchunks = min64(p.n, kWeightChunks), gsize = round_up(wsize, 16);
  const i64 each = d.size + gsize + (dx ? e.d.size : 0);  // padded x, one image's gw, padded dout
  const int threads = num_threads();
  T* part = scratch<T>(checked_mul(nchunks, wsize) + checked_mul(p.n, p.f), 1);
  T* part_b = part + nchunks * wsize;  // (n, f)
  T* ws = scratch<T>(checked_mul(each, threads), 0);
  parallel_for(nchunks, 1, threads, [&](i64 k0, i64 k1) {
    T* xp = ws + omp_get_thread_num() * each;
    T* gw = xp + d.size;
    T* dp = gw + gsize;
    for (i64 k = k0; k < k1; ++k) {
      T* dst = part + k * wsize;
      const i64 n0 = p.n * k / nchunks;
      for (i64 n = n0; n < p.n * (k + 1) / nchunks; ++n) {
        const T* dn = dout + n * p.f * P;
        if (dx) {
          direct_fill(dp, dn, e.d, dk);
          kern.fwd(dx + n * p.c * p.ipix(), dp, e.wt, e.ldw, static_cast<const T*>(nullptr), e.g);
        }
        direct_fill(xp, x + n * p.c * p.ipix(), d, dk);
        kern.wgrad(n == n0 ? dst : gw, dn, xp, g);
        if (n > n0)
          for (i64 i = 0; i < wsize; ++i) dst[i] += gw[i];
        if (db)
          for (i64 fo = 0; fo < p.f; ++fo) part_b[n * p.f + fo] = dk.sum(dn + fo * P, P);
      }
    }
  });
  sum_rows(dw, part, nchunks, wsize, wsize);
  if (db) sum_rows(db, part_b, p.n, p.f, p.f);
}

// ---------------------------------------------------------------------------
// implicit GEMM

// The active ISA's GEMM micro-kernel and its blocking (gemm.cpp's table).
template <typename T>
struct Micro {
  UkernelFn<T> fn;
  i64 mr, nr, kc;
};

template <typename T>
Micro<T> micro() {
  const GemmKernel<T>& g = gemm_kernel<T>(isa_active());
  return {g.ukernel, g.mr, g.nr, g.kc};
}

// Columns of a packed B block: a multiple of nr, kc x nc x sizeof(T) about kBlockBytes.
template <typename T>
i64 block_cols(const Micro<T>& u) {
  return max64(u.nr, kBlockBytes / (u.kc * static_cast<i64>(sizeof(T))) / u.nr * u.nr);
}

inline bool is_pointwise(const Conv2dParams& p) { return choose_path(p) == Path::pointwise; }

// wp = w (groups * fg, K) in A panels: group g, K block at pc of kb columns,
// panel r of mr rows at wp + g*mpad*K + pc*mpad + r*mr*kb, element (i, kk) at
// [kk*mr + i]; rows past fg are 0 (mpad = fg rounded up to mr).
template <typename T>
void pack_weights(T* wp, const T* w, i64 groups, i64 fg, i64 K, const Micro<T>& u) {
  const i64 mpad = round_up(fg, u.mr);
  for (i64 g = 0; g < groups; ++g)
    for (i64 pc = 0; pc < K; pc += u.kc) {
      const i64 kb = min64(u.kc, K - pc);
      T* dst = wp + g * mpad * K + pc * mpad;
      for (i64 f = 0; f < mpad; ++f) {
        T* d = dst + (f / u.mr) * u.mr * kb + f % u.mr;
        if (f >= fg) {
          for (i64 kk = 0; kk < kb; ++kk) d[kk * u.mr] = T(0);
          continue;
        }
        const T* src = w + (g * fg + f) * K + pc;
        for (i64 kk = 0; kk < kb; ++kk) d[kk * u.mr] = src[kk];
      }
    }
}

// B block for the forward: rows pc .. pc+kb of one image and group's im2col
// matrix, output pixels j0 .. j0+ncur, in panels of nr columns: element
// (kk, jj) at bbuf[(jj / nr)*kb*nr + kk*nr + jj % nr]. row: ncur scratch values.
template <typename T>
void pack_b_im2col(T* bbuf, T* row, const T* xg, const Conv2dParams& p, i64 pc, i64 kb, i64 j0, i64 ncur,
                   i64 nr, bool pointwise) {
  for (i64 kk = 0; kk < kb; ++kk) {
    const T* src = im2col_row(row, xg, p, pc + kk, j0, ncur, pointwise);
    for (i64 q = 0; q * nr < ncur; ++q)
      std::memcpy(bbuf + q * kb * nr + kk * nr, src + q * nr, sizeof(T) * min64(nr, ncur - q * nr));
  }
}

// out (n, f, oh, ow) = conv2d(x, w) + bias by implicit GEMM (any conv but depthwise).
template <typename T>
void fwd_implicit(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  const Micro<T> u = micro<T>();
  const i64 K = p.kdim(), P = p.opix(), fg = p.fg(), mpad = round_up(fg, u.mr);
  const bool pointwise = is_pointwise(p);
  const i64 nc = min64(block_cols(u), round_up(P, u.nr));
  const i64 nblocks = ceil_div(P, nc), items = p.n * p.groups * nblocks;
  T* wp = scratch<T>(checked_mul(p.groups * mpad, K), 2);
  pack_weights(wp, w, p.groups, fg, K, u);
  const int threads = num_threads();
  const i64 each = round_up(u.kc * nc, 16) + round_up(nc, 16);  // B block, one im2col row
  T* ws = scratch<T>(checked_mul(each, threads), 0);
  parallel_for(items, 1, threads, [&](i64 i0, i64 i1) {
    T* bbuf = ws + omp_get_thread_num() * each;
    T* row = bbuf + round_up(u.kc * nc, 16);
    for (i64 it = i0; it < i1; ++it) {
      const i64 blk = it % nblocks, ng = it / nblocks, g = ng % p.groups, n = ng / p.groups;
      const i64 j0 = blk * nc, ncur = min64(nc, P - j0);
      const T* xg = x + (n * p.c + g * p.cg()) * p.ipix();
      T* og = out + (n * p.f + g * fg) * P + j0;
      if (bias)
        for (i64 f = 0; f < fg; ++f) std::fill(og + f * P, og + f * P + ncur, bias[g * fg + f]);
      for (i64 pc = 0; pc < K; pc += u.kc) {
        const i64 kb = min64(u.kc, K - pc);
        pack_b_im2col(bbuf, row, xg, p, pc, kb, j0, ncur, u.nr, pointwise);
        const T* ap = wp + g * mpad * K + pc * mpad;
        const T beta = pc > 0 || bias ? T(1) : T(0);
        for (i64 q = 0; q * u.nr < ncur; ++q)
          for (i64 r = 0; r * u.mr < fg; ++r)
            u.fn(min64(u.mr, fg - r * u.mr), min64(u.nr, ncur - q * u.nr), kb, T(1), ap + r * u.mr * kb, 1, u.mr,
                 bbuf + q * kb * u.nr, u.nr, beta, og + r * u.mr * P + q * u.nr, P, 1);
      }
    }
  });
}

// A panels of dout rows for the weight gradient: abuf[r*mr*kb + kk*mr + i] =
// dg[(r*mr + i)*P + pc + kk] (rows past fg are 0). dg (fg, P)
template <typename T>
void pack_a_rows(T* abuf, const T* dg, i64 fg, i64 P, i64 pc, i64 kb, i64 mr) {
  for (i64 f = 0; f < round_up(fg, mr); ++f) {
    T* d = abuf + (f / mr) * mr * kb + f % mr;
    if (f >= fg) {
      for (i64 kk = 0; kk < kb; ++kk) d[kk * mr] = T(0);
      continue;
    }
    const T* src = dg + f * P + pc;
    for (i64 kk = 0; kk < kb; ++kk) d[kk * mr] = src[kk];
  }
}

// B block for the weight gradient: col^T rows pc .. pc+kb (output pixels),
// columns jc .. jc+ncur (im2col rows), in panels of nr columns: element
// (kk, jj) at bbuf[(jj / nr)*kb*nr + kk*nr + jj % nr]. rows: 8 x kb scratch.
// Eight im2col rows are built, then written eight columns at a time (a
// transpose the compiler turns into shuffles and full-width stores).
template <typename T>
void pack_b_im2col_t(T* bbuf, T* rows, const T* xg, const Conv2dParams& p, i64 jc, i64 ncur, i64 pc, i64 kb,
                     i64 nr, bool pointwise) {
  constexpr i64 G = 8;  // nr is a multiple of 8 for every micro-kernel
  for (i64 j0 = 0; j0 < ncur; j0 += G) {
    const i64 gn = min64(G, ncur - j0);
    const T* src[G];
    for (i64 t = 0; t < G; ++t)
      src[t] = t < gn ? im2col_row(rows + t * kb, xg, p, jc + j0 + t, pc, kb, pointwise) : src[0];
    T* __restrict d = bbuf + (j0 / nr) * kb * nr + j0 % nr;
    for (i64 kk = 0; kk < kb; ++kk)
      for (i64 t = 0; t < G; ++t) d[kk * nr + t] = src[t][kk];  // columns past ncur: never read
  }
}

// dw (f, cg, kh, kw) = sum over images of dout[n, g] (fg, P) @ col[n, g]^T (P, K), per group,
// by implicit GEMM (any conv but depthwise).
template <typename T>
void weight_grad_implicit(T* dw, const T* dout, const T* x, const Conv2dParams& p) {
  const Micro<T> u = micro<T>();
  const i64 K = p.kdim(), P = p.opix(), fg = p.fg(), wsize = p.f * K;
  if (p.n == 0) {
    std::fill(dw, dw + wsize, T(0));
    return;
  }
  const bool pointwise = is_pointwise(p);
  const i64 mpad = round_up(fg, u.mr), nc = min64(block_cols(u), round_up(K, u.nr));
  const i64 kblocks = ceil_div(K, nc), cblocks = p.groups * kblocks;  // column blocks of dw
  const i64 wbytes = checked_mul(wsize, static_cast<i64>(sizeof(T)));
  const i64 nchunks = std::clamp(kPartialBytes / wbytes, i64{1}, min64(p.n, kWeightChunks));
  const int threads = num_threads();

  // Images [n0, n1) into dst (f, K), column blocks [b0, b1) only: for each
  // (image, group, pixel block) in order, dst += dout block @ col block^T
  // (the first contribution overwrites).
  const i64 a_size = round_up(mpad * u.kc, 16), b_size = round_up(u.kc * nc, 16);
  auto chunk = [&](T* dst, i64 n0, i64 n1, i64 b0, i64 b1, T* ws) {
    T* abuf = ws;
    T* bbuf = abuf + a_size;
    T* rows = bbuf + b_size;
    for (i64 n = n0; n < n1; ++n)
      for (i64 g = b0 / kblocks; g <= (b1 - 1) / kblocks; ++g) {
        const T* xg = x + (n * p.c + g * p.cg()) * p.ipix();
        const T* dg = dout + (n * p.f + g * fg) * P;
        for (i64 pc = 0; pc < P; pc += u.kc) {
          const i64 kb = min64(u.kc, P - pc);
          pack_a_rows(abuf, dg, fg, P, pc, kb, u.mr);
          const T beta = n == n0 && pc == 0 ? T(0) : T(1);
          for (i64 b = std::max(b0, g * kblocks); b < std::min(b1, (g + 1) * kblocks); ++b) {
            const i64 jc = (b % kblocks) * nc, ncur = min64(nc, K - jc);
            pack_b_im2col_t(bbuf, rows, xg, p, jc, ncur, pc, kb, u.nr, pointwise);
            T* cblk = dst + g * fg * K + jc;
            for (i64 q = 0; q * u.nr < ncur; ++q)
              for (i64 r = 0; r * u.mr < fg; ++r)
                u.fn(min64(u.mr, fg - r * u.mr), min64(u.nr, ncur - q * u.nr), kb, T(1), abuf + r * u.mr * kb, 1,
                     u.mr, bbuf + q * kb * u.nr, u.nr, beta, cblk + r * u.mr * K + q * u.nr, K, 1);
          }
        }
      }
  };

  T* part = nchunks == 1 ? dw : scratch<T>(checked_mul(nchunks, wsize), 1);
  const i64 each = a_size + b_size + round_up(8 * u.kc, 16);
  T* ws = scratch<T>(checked_mul(each, threads), 0);
  if (balanced(nchunks, threads)) {  // whole chunks per thread
    parallel_for(nchunks, 1, threads, [&](i64 k0, i64 k1) {
      T* mine = ws + omp_get_thread_num() * each;
      for (i64 k = k0; k < k1; ++k)
        chunk(part + k * wsize, p.n * k / nchunks, p.n * (k + 1) / nchunks, 0, cblocks, mine);
    });
  } else {  // few chunks: threads split the column blocks of each
    parallel_for(cblocks, 1, threads, [&](i64 b0, i64 b1) {
      T* mine = ws + omp_get_thread_num() * each;
      for (i64 k = 0; k < nchunks; ++k)
        chunk(part + k * wsize, p.n * k / nchunks, p.n * (k + 1) / nchunks, b0, b1, mine);
    });
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

// ---------------------------------------------------------------------------
// shifted GEMM (enough channels per group; any stride).
//
// Output pixel (i, j) of kernel row ki reads input row i*sh + ki*dh - ph
// and, for tap kj, column j*sw + kj*dw - pw. Per band of output rows (one
// image and group), copy the input kw times, copy kj holding exactly those
// columns for every output column j, and the rows a band of output rows
// needs, for each row phase a = ki*dh mod sh (a stride-2 conv has two). On
// these copies, laid out (row phase, kj, channel) plane after plane with
// planes of width ow, output pixel q = i*ow + j of kernel row ki reads
// position q + (ki*dh div sh)*ow of each copy: one kernel row's im2col rows
// are kw*cg equally spaced views, so one micro-kernel call set covers them
// (k = kw*cg), and a band is copied kw times instead of kh*kw (im2col). The
// data gradient is the same on dout: for each phase of dx, a stride-1 conv
// of dout with the taps that land on that phase, the column copies of dout
// shared by all phases. The weight gradient reads a channels-last copy of
// the band, so its B rows are kw*cg contiguous values.
//   forward    out (fg, Q) = sum over ki of w_ki (fg, kw*cg) @ copies_ki (kw*cg, Q)
//   data grad  dx phase (cg, Q) = sum over its ki of w_ki^T (cg, taps*fg) @ dout copies (taps*fg, Q)
//   weight     dw_ki (fg, kw*cg) += dout (fg, Q) @ copies_ki^T (Q, kw*cg)

// (Tap and phase lists live on the stack: at most 64 of each.)
inline bool use_shifted(const Conv2dParams& p) { return p.kh <= 64 && p.kw <= 64 && p.sh * p.sw <= 64; }
inline bool use_shifted_data(const Conv2dParams& p) {
  return use_shifted(p) && p.cg() >= kShiftedMinChannels && p.fg() >= kShiftedMinChannels;
}

// One band: output rows r0 .. r0 + rows, source planes of hb = rows + halo
// rows and width wq (= the output width), planes `stride` apart.
struct ShiftBand {
  i64 rows, hb, wq, plane;  // plane = hb * wq
  i64 q, qpad;              // rows * wq, rounded up to nr
};

inline ShiftBand make_shift_band(i64 rows, i64 halo, i64 wq, i64 nr) {
  return {rows, rows + halo, wq, (rows + halo) * wq, rows * wq, round_up(rows * wq, nr)};
}

// The forward's kernel rows: for each ki its row slot and row shift. Usually
// a slot per row phase (ki*dh mod sh) and a shift of ki*dh div sh; "full"
// (few channels) gives every kernel row its own slot and no shift, so the
// band holds one plane per tap -- im2col of the band, small when cg is small
// -- and a single call set sums over all kh*kw*cg rows.
struct RowTaps {
  i64 slot[64], di[64];
  i64 a[64];        // slot -> its first input row's offset (row phase, or ki*dh when full)
  i64 slots, max_di;
  bool full;
};

inline RowTaps row_taps(const Conv2dParams& p, bool full) {
  RowTaps r{};
  r.full = full;
  i64 slot_of[64];
  std::fill(slot_of, slot_of + p.sh, i64{-1});
  for (i64 ki = 0; ki < p.kh; ++ki) {
    if (full) {
      r.a[ki] = ki * p.dh, r.slot[ki] = ki, r.di[ki] = 0, r.slots = p.kh;
      continue;
    }
    const i64 a = (ki * p.dh) % p.sh;
    if (slot_of[a] < 0) r.a[r.slots] = a, slot_of[a] = r.slots++;
    r.slot[ki] = slot_of[a], r.di[ki] = (ki * p.dh) / p.sh;
    r.max_di = std::max(r.max_di, r.di[ki]);
  }
  return r;
}

// Few channels per group: one plane per tap (see RowTaps).
inline bool full_band(const Conv2dParams& p) { return p.cg() < kShiftedMinChannels; }

// Output rows per band: `copies` planes per channel, (rows + halo) x wq, about kBandBytes.
template <typename T>
i64 shift_band_rows(i64 channels, i64 copies, i64 halo, i64 wq, i64 out_rows) {
  const i64 rows = kBandBytes / (channels * copies * wq * static_cast<i64>(sizeof(T))) - halo;
  return std::clamp(rows, i64{1}, std::max(out_rows, i64{1}));
}

// d[0..n) = src[j*step] for the columns j in [lo, hi) and 0 elsewhere.
template <typename T>
inline void band_row(T* __restrict d, const T* __restrict src, i64 n, i64 lo, i64 hi, i64 step) {
  for (i64 j = 0; j < lo; ++j) d[j] = T(0);
  if (step == 1)
    for (i64 j = lo; j < hi; ++j) d[j] = src[j];
  else if (step == 2)  // a constant stride the compiler vectorises (even lanes of two loads)
    for (i64 j = lo; j < hi; ++j) d[j] = src[2 * j];
  else
    for (i64 j = lo; j < hi; ++j) d[j] = src[j * step];
  for (i64 j = hi; j < n; ++j) d[j] = T(0);
}

// Rows (rows, n) of d zeroed outside columns [lo, hi): column by column, as
// strided stores (per row the compiler makes each edge a memset call of a
// few bytes, ~3% of conv_transpose2d 4x4 s2's forward).
template <typename T>
inline void zero_edge_cols(T* __restrict d, i64 rows, i64 n, i64 lo, i64 hi) {
  for (i64 j = 0; j < lo; ++j)
    for (i64 t = 0; t < rows; ++t) d[t * n + j] = T(0);
  for (i64 j = hi; j < n; ++j)
    for (i64 t = 0; t < rows; ++t) d[t * n + j] = T(0);
}

// Columns j in [0, n) whose source column j*step + b0 lies in [0, w): [lo, hi).
inline void band_cols(i64 n, i64 step, i64 b0, i64 w, i64* lo, i64* hi) {
  *lo = min64(n, cdiv0(-b0, step));
  *hi = max64(*lo, min64(n, cdiv0(w - b0, step)));
}

// A panels: for group g and kernel row `row`, the (m, k) matrix
// src(g, row, i, kk) in panels of mr rows, k in kc blocks: panel r of the k
// block at pc (kb columns) at dst + (g*nrows + row)*mpad*k + pc*mpad + r*mr*kb,
// element (i, kk) at [kk*mr + i]; rows past m are 0. rows_inner: read src
// a column's mr rows at a time (for sources contiguous along i; else along kk).
template <typename T, typename Src>
void pack_row_panels(T* dst, i64 groups, i64 nrows, i64 m, i64 k, const Micro<T>& u, const Src& src,
                     bool rows_inner) {
  const i64 mpad = round_up(m, u.mr), npan = mpad / u.mr;
  // threads split the (group, row, panel) units: a copy, the same for any split
  parallel_for(groups * nrows * npan, max64(1, kPackGrain / (u.mr * k)), num_threads(), [&](i64 u0, i64 u1) {
    for (i64 un = u0; un < u1; ++un) {
      const i64 gr = un / npan, g = gr / nrows, row = gr % nrows, i0 = un % npan * u.mr;
      for (i64 pc = 0; pc < k; pc += u.kc) {
        const i64 kb = min64(u.kc, k - pc);
        T* base = dst + gr * mpad * k + pc * mpad + i0 * kb;
        const i64 mi = max64(0, min64(u.mr, m - i0));  // rows of the panel inside m; the rest 0
        if (rows_inner) {
          for (i64 kk = 0; kk < kb; ++kk) {
            for (i64 i = 0; i < mi; ++i) base[kk * u.mr + i] = src(g, row, i0 + i, pc + kk);
            for (i64 i = mi; i < u.mr; ++i) base[kk * u.mr + i] = T(0);
          }
          continue;
        }
        for (i64 i = 0; i < mi; ++i)
          for (i64 kk = 0; kk < kb; ++kk) base[kk * u.mr + i] = src(g, row, i0 + i, pc + kk);
        for (i64 i = mi; i < u.mr; ++i)
          for (i64 kk = 0; kk < kb; ++kk) base[kk * u.mr + i] = T(0);
      }
    }
  });
}

// One shifted-GEMM call set: ot (mpad, qpad) (+)= A (mpad, k) @ B (k, qpad),
// A packed (pack_row_panels), B row kk at b0 + kk*plane.
template <typename T>
void shifted_calls(T* ot, const T* a, const T* b0, i64 plane, i64 k, i64 mpad, i64 qpad, bool first,
                   const Micro<T>& u) {
  for (i64 q0 = 0; q0 < qpad; q0 += u.nr)
    for (i64 r = 0; r < mpad; r += u.mr)
      for (i64 pc = 0; pc < k; pc += u.kc) {
        const i64 kb = min64(u.kc, k - pc);
        u.fn(u.mr, u.nr, kb, T(1), a + pc * mpad + r * kb, 1, u.mr, b0 + pc * plane + q0, plane,
             first && pc == 0 ? T(0) : T(1), ot + r * qpad + q0, qpad, 1);
      }
}

// The same call set written straight into its destination: c (m, q), row
// stride ldc (+)= A (m, k) @ B (k, q), edge tiles clipped to m rows and q
// columns (no padded tile, no copy out). A packed for mpad = m rounded up to mr.
template <typename T>
void shifted_calls_to(T* c, i64 ldc, const T* a, const T* b0, i64 plane, i64 k, i64 m, i64 q, bool first,
                      const Micro<T>& u) {
  const i64 mpad = round_up(m, u.mr);
  for (i64 q0 = 0; q0 < q; q0 += u.nr)
    for (i64 r = 0; r < m; r += u.mr)
      for (i64 pc = 0; pc < k; pc += u.kc) {
        const i64 kb = min64(u.kc, k - pc);
        u.fn(min64(u.mr, m - r), min64(u.nr, q - q0), kb, T(1), a + pc * mpad + r * kb, 1, u.mr,
             b0 + pc * plane + q0, plane, first && pc == 0 ? T(0) : T(1), c + r * ldc + q0, ldc, 1);
      }
}

// Channel rows c (m, q), row stride ldc, set to bias (m,) (the direct call
// sets then add every term).
template <typename T>
void fill_bias_rows(T* c, i64 ldc, const T* bias, i64 m, i64 q) {
  for (i64 i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + q, bias[i]);
}

// B panels for the transposed orientation: for group g and kernel row
// `row`, the (k, n) matrix src(g, row, kk, col) in panels of nr columns:
// panel j at dst + (g*nrows + row)*k*npad + j*k*nr, element (kk, jj) at
// [kk*nr + jj]; columns past n are 0 (npad = n rounded up to nr).
template <typename T, typename Src>
void pack_row_bpanels(T* dst, i64 groups, i64 nrows, i64 k, i64 n, const Micro<T>& u, const Src& src) {
  const i64 npad = round_up(n, u.nr), npan = npad / u.nr;
  // threads split the (group, row, panel) units: a copy, the same for any split
  parallel_for(groups * nrows * npan, max64(1, kPackGrain / (u.nr * k)), num_threads(), [&](i64 u0, i64 u1) {
    for (i64 un = u0; un < u1; ++un) {
      const i64 gr = un / npan, g = gr / nrows, row = gr % nrows, j0 = un % npan * u.nr;
      T* base = dst + gr * k * npad + j0 * k;
      for (i64 col = j0; col < j0 + u.nr; ++col) {
        T* d = base + col - j0;
        if (col >= n) {
          for (i64 kk = 0; kk < k; ++kk) d[kk * u.nr] = T(0);
          continue;
        }
        for (i64 kk = 0; kk < k; ++kk) d[kk * u.nr] = src(g, row, kk, col);
      }
    }
  });
}

// The transposed call set: ott (qrows, npad) (+)= B^T (qrows, k) @ W (k, npad):
// the band is the micro-kernel's A, read in place (pixel i of row kk at
// b0 + kk*plane + i), W packed by pack_row_bpanels. qrows: a multiple of mr.
template <typename T>
void shifted_calls_t(T* ott, const T* w, const T* b0, i64 plane, i64 k, i64 npad, i64 qrows, bool first,
                     const Micro<T>& u) {
  for (i64 j0 = 0; j0 < npad; j0 += u.nr)
    for (i64 q0 = 0; q0 < qrows; q0 += u.mr)
      for (i64 pc = 0; pc < k; pc += u.kc) {
        const i64 kb = min64(u.kc, k - pc);
        u.fn(u.mr, u.nr, kb, T(1), b0 + pc * plane + q0, 1, plane, w + (j0 / u.nr) * k * u.nr + pc * u.nr, u.nr,
             first && pc == 0 ? T(0) : T(1), ott + q0 * npad + j0, npad, 1);
      }
}

// Which orientation computes fewer padded products for m channels and q
// pixels: channels as the micro-kernel's rows (A = weights) or pixels as its
// rows (A = the band, transposed orientation).
inline bool transposed_cheaper(i64 m, i64 q, i64 mr, i64 nr) {
  return round_up(m, nr) * round_up(q, mr) < round_up(m, mr) * round_up(q, nr);
}

// Share r of `parts` of the n values at p prefetched toward L2 (p null:
// nothing): spreads the next work item's input over the current item's calls.
template <typename T>
void prefetch_share(const T* p, i64 n, i64 r, i64 parts) {
  if (!p) return;
  const char* c = reinterpret_cast<const char*>(p);
  const i64 bytes = n * static_cast<i64>(sizeof(T));
  for (i64 o = bytes * r / parts / 64 * 64; o < bytes * (r + 1) / parts; o += 64) __builtin_prefetch(c + o, 0, 2);
}

// The forward's band: copy (slot s, kj), channel c, element (t, j) =
// x[c, (r0 + t)*sh + a_s - ph, j*sw + kj*dw - pw] (0 outside), plane
// ((s*kw + kj)*cg + c); then nr zeros (what the last q panel reads past the end).
template <typename T>
void fwd_band(T* __restrict xb, const T* __restrict xg, const Conv2dParams& p, const RowTaps& rt,
              const ShiftBand& b, i64 r0, i64 nr) {
  const i64 cg = p.cg();
  // stride 1 and band rows as wide as x's: band rows t .. of a copy are
  // consecutive x rows laid end to end, so a channel's rows are one copy;
  // a channel's kw copies are made together (its rows read from memory once)
  if (p.sh == 1 && p.sw == 1 && b.wq == p.w) {
    i64 lo[64], hi[64];  // kw <= 64 on the shifted path (use_shifted)
    for (i64 kj = 0; kj < p.kw; ++kj) band_cols(b.wq, 1, kj * p.dw - p.pw, p.w, &lo[kj], &hi[kj]);
    for (i64 s = 0; s < rt.slots; ++s) {
      const i64 ih0 = r0 + rt.a[s] - p.ph;  // input row of t = 0
      const i64 t0 = std::clamp(-ih0, i64{0}, b.hb), t1 = std::clamp(p.h - ih0, t0, b.hb);
      for (i64 c = 0; c < cg; ++c)
        for (i64 kj = 0; kj < p.kw; ++kj) {  // then the columns outside [lo, hi) zeroed
          T* dp = xb + ((s * p.kw + kj) * cg + c) * b.plane;
          std::fill(dp, dp + t0 * b.wq, T(0));
          std::fill(dp + t1 * b.wq, dp + b.hb * b.wq, T(0));
          if (t1 == t0) continue;
          T* d0 = dp + t0 * b.wq;
          if (hi[kj] > lo[kj])  // (t0, lo) .. (t1 - 1, hi): every value read lies in rows ih0 + t0 .. ih0 + t1 - 1
            std::memcpy(d0 + lo[kj], xg + (c * p.h + ih0 + t0) * p.w + kj * p.dw - p.pw + lo[kj],
                        sizeof(T) * ((t1 - t0 - 1) * b.wq + hi[kj] - lo[kj]));
          zero_edge_cols(d0, t1 - t0, b.wq, lo[kj], hi[kj]);
        }
    }
  } else {
    for (i64 s = 0; s < rt.slots; ++s)
      for (i64 kj = 0; kj < p.kw; ++kj) {
        const i64 b0 = kj * p.dw - p.pw;  // input column of j = 0
        i64 lo, hi;
        band_cols(b.wq, p.sw, b0, p.w, &lo, &hi);
        for (i64 c = 0; c < cg; ++c)
          for (i64 t = 0; t < b.hb; ++t) {
            T* d = xb + ((s * p.kw + kj) * cg + c) * b.plane + t * b.wq;
            const i64 ih = (r0 + t) * p.sh + rt.a[s] - p.ph;
            if (ih < 0 || ih >= p.h)
              band_row(d, d, b.wq, b.wq, b.wq, 1);
            else
              band_row(d, xg + (c * p.h + ih) * p.w + b0, b.wq, lo, hi, p.sw);
          }
      }
  }
  T* end = xb + rt.slots * p.kw * cg * b.plane;
  std::fill(end, end + nr, T(0));  // nr: whatever the last tile reads past the band
}

// Whole phases (a 4x4 stride-2 upsampler's data gradient): strides above 1
// that divide the kernel, dilation 1. The band then holds, per row phase a,
// column phase b and channel c, the plane x[c, (r0 + t)*sh + a - ph, j*sw + b - pw]
// of hb = rows + kh/sh - 1 rows and wq = ow + kw/sw - 1 columns, planes
// ((a*sw + b)*cg + c). Tap (ki, kj) = (a + di*sh, b + dj*sw) of output pixel
// (i, j) is element (i + di, j + dj) of its plane, so the taps of one shift
// (di, dj) are sh*sw*cg equally spaced planes read at offset di*wq + dj: one
// call set each, and the band is copied once (kw/sw times fewer copies than
// the per-kj copies) at the price of wq - ow junk pixels per row: taken
// only while they are at most an eighth of the row (measured on ow = 16).
inline bool use_phases(const Conv2dParams& p) {
  return p.sw > 1 && p.kh % p.sh == 0 && p.kw % p.sw == 0 && p.dh == 1 && p.dw == 1 &&
         p.cg() >= kShiftedMinChannels && (p.kw / p.sw - 1) * 8 <= p.ow;
}

// d0[j] = s[2j] for j in [lo0, hi0), d1[j] = s[2j + 1] for j in [lo1, hi1),
// 0 elsewhere in [0, n): one input row split into its two column phases.
template <typename T>
inline void split_row2(T* __restrict d0, T* __restrict d1, const T* __restrict s, i64 n, i64 lo0, i64 hi0, i64 lo1,
                       i64 hi1) {
  const i64 lo = max64(lo0, lo1), hi = max64(lo, min64(hi0, hi1));
  auto edge = [&](i64 j) {
    d0[j] = j >= lo0 && j < hi0 ? s[2 * j] : T(0);
    d1[j] = j >= lo1 && j < hi1 ? s[2 * j + 1] : T(0);
  };
  for (i64 j = 0; j < lo; ++j) edge(j);
  for (i64 j = lo; j < hi; ++j) d0[j] = s[2 * j], d1[j] = s[2 * j + 1];
  for (i64 j = hi; j < n; ++j) edge(j);
}

// The phase band (see use_phases): plane ((a*sw + b)*cg + c), element (t, j);
// then `tail` zeros (what the last tiles read past the band). Input rows are
// read in order, each once; column stride 2 splits a row in one pass.
template <typename T>
void fwd_band_phases(T* __restrict xb, const T* __restrict xg, const Conv2dParams& p, const ShiftBand& b, i64 r0,
                     i64 tail) {
  const i64 cg = p.cg();
  i64 lo[64], hi[64];
  for (i64 cb = 0; cb < p.sw; ++cb) band_cols(b.wq, p.sw, cb - p.pw, p.w, &lo[cb], &hi[cb]);
  for (i64 c = 0; c < cg; ++c)
    for (i64 t = 0; t < b.hb; ++t)
      for (i64 a = 0; a < p.sh; ++a) {
        const i64 ih = (r0 + t) * p.sh + a - p.ph;
        T* d = xb + (a * p.sw * cg + c) * b.plane + t * b.wq;  // column phase cb at + cb*cg*plane
        if (ih < 0 || ih >= p.h) {
          for (i64 cb = 0; cb < p.sw; ++cb) std::fill(d + cb * cg * b.plane, d + cb * cg * b.plane + b.wq, T(0));
          continue;
        }
        const T* src = xg + (c * p.h + ih) * p.w - p.pw;  // column j*sw + cb of the phases at src[j*sw + cb]
        if (p.sw == 2)
          split_row2(d, d + cg * b.plane, src, b.wq, lo[0], hi[0], lo[1], hi[1]);
        else
          for (i64 cb = 0; cb < p.sw; ++cb) band_row(d + cb * cg * b.plane, src + cb, b.wq, lo[cb], hi[cb], p.sw);
      }
  T* end = xb + p.sh * p.sw * cg * b.plane;
  std::fill(end, end + tail, T(0));
}

// Runs items [0, items) of a per-item kernel over the threads, each with
// `each` values of its own workspace (scratch slot 0).
template <typename T, typename Item>
void run_items(i64 items, i64 each, const Item& item) {
  const int threads = num_threads();
  T* ws = scratch<T>(checked_mul(each, threads), 0);
  parallel_for(items, 1, threads, [&](i64 i0, i64 i1) {
    T* mine = ws + omp_get_thread_num() * each;
    for (i64 it = i0; it < i1; ++it) item(it, mine);
  });
}

// The shifted forward's set-up (weights packed into scratch slot 2), then
// run(items, each, item): item(it, ws) computes item it = (image, group,
// band) -- image i's items are [i*per, (i+1)*per), per = items / p.n --
// with `each` values of per-thread workspace at ws.
template <typename T, typename Run>
void fwd_shifted_with(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p, const Run& run) {
  const Micro<T> u = micro<T>();
  const i64 fg = p.fg(), cg = p.cg(), khw = p.kh * p.kw;
  const bool phases = use_phases(p);
  const RowTaps rt = row_taps(p, full_band(p));
  const i64 nsh = p.kh / p.sh, nsw = p.kw / p.sw;  // phases: row and column shifts
  // call sets per tile: one per kernel row, or one (full), or one per shift (phases)
  const i64 nrow = phases ? nsh * nsw : rt.full ? 1 : p.kh;
  // rows each sums over: (ki,) kj, c, or (a, b, c) for phases
  const i64 kk = phases ? p.sh * p.sw * cg : rt.full ? khw * cg : p.kw * cg;
  const bool pointwise = is_pointwise(p);
  const i64 halo = phases ? nsh - 1 : rt.max_di, wq = phases ? p.ow + nsw - 1 : p.ow;
  const i64 rows = shift_band_rows<T>(cg, phases ? p.sh * p.sw : rt.slots * p.kw, halo, wq, p.oh);
  const i64 nbands = ceil_div(p.oh, rows), items = p.n * p.groups * nbands;
  // (a pointwise conv whose bands are whole nr tiles reads x in place, in the plain orientation)
  // (the transposed tile costs a strided copy out, worth it only over a long enough k)
  const bool tr = transposed_cheaper(fg, rows * wq, u.mr, u.nr) && !(pointwise && rows * p.ow % u.nr == 0) &&
                  nrow * kk >= kTransposedMinK;
  // weights per call set: A panels (fg, k), or B panels (k, fg) when transposed
  const i64 mpad = round_up(fg, tr ? u.nr : u.mr);
  // col = ((ki,) kj, c), or (a, b, c) for phases, sits at coff[col] + roff(row) in filter f's (cg, kh, kw)
  std::vector<i64> coff(kk);
  for (i64 col = 0; col < kk; ++col) {
    const i64 s = col / cg;
    coff[col] = (col % cg) * khw + (phases ? s / p.sw * p.kw + s % p.sw : s);
  }
  auto roff = [&](i64 row) {  // phases: shift (row / nsw, row % nsw) in strides
    return phases ? row / nsw * p.sh * p.kw + row % nsw * p.sw : rt.full ? 0 : row * p.kw;
  };
  auto wsrc = [&](i64 g, i64 row, i64 f, i64 col) {
    return w[(g * fg + f) * cg * khw + coff[col] + roff(row)];
  };
  T* wpk = scratch<T>(checked_mul(p.groups * nrow * mpad, kk), 2);
  if (tr)
    pack_row_bpanels(wpk, p.groups, nrow, kk, fg, u, [&](i64 g, i64 r, i64 col, i64 f) { return wsrc(g, r, f, col); });
  else
    pack_row_panels(wpk, p.groups, nrow, fg, kk, u, wsrc, false);  // w runs along (kj, c)
  const ShiftBand big = make_shift_band(rows, halo, wq, u.nr);
  const i64 qrows = round_up(big.q, u.mr);                      // transposed: pixel rows computed
  // the plain orientation writes straight into out unless the band is wider than ow (phases)
  const bool in_place = !tr && wq == p.ow;
  const i64 ot_size = tr ? round_up(qrows * mpad, 16) : in_place ? 0 : round_up(mpad * big.qpad, 16);
  const i64 tail = u.nr + u.mr + nsw;                           // zeros past the band (the last tiles read them)
  const i64 xb_size = round_up((phases ? p.sh * p.sw : rt.slots * p.kw) * cg * big.plane + tail, 16);
  const i64 each = xb_size + ot_size;  // per thread: band copies, output tile
  run(items, each, [&](i64 it, T* xb) {
    T* ot = xb + xb_size;
    const i64 bi = it % nbands, ng = it / nbands, g = ng % p.groups, n = ng / p.groups;
    const i64 r0 = bi * rows, r1 = std::min(p.oh, r0 + rows);
    const ShiftBand b = make_shift_band(r1 - r0, halo, wq, u.nr);
    const i64 qr = round_up(b.q, u.mr);
    const T* xg = x + (n * p.c + g * cg) * p.ipix();
    // rows r0 .. r1 of each channel are contiguous in out: the plain
    // orientation writes there directly (bias first, when there is one)
    T* og = out + ((n * p.f + g * fg) * p.oh + r0) * p.ow;
    if (in_place && bias) fill_bias_rows(og, p.opix(), bias + g * fg, fg, b.q);
    auto calls = [&](const T* wrow, const T* b0, i64 plane, bool first) {
      if (tr)
        shifted_calls_t(ot, wrow, b0, plane, kk, mpad, qr, first, u);
      else if (in_place)
        shifted_calls_to(og, p.opix(), wrow, b0, plane, kk, fg, b.q, first && !bias, u);
      else
        shifted_calls(ot, wrow, b0, plane, kk, mpad, b.qpad, first, u);
    };
    if (pointwise && !tr && b.q == b.qpad) {  // the band is x itself (channel stride h*w); no copy
      calls(wpk + g * mpad * kk, xg + r0 * p.ow, p.ipix(), true);
    } else if (phases) {
      fwd_band_phases(xb, xg, p, b, r0, tail);
      for (i64 r = 0; r < nrow; ++r)  // shift (di, dj) = (r / nsw, r % nsw)
        calls(wpk + (g * nrow + r) * mpad * kk, xb + r / nsw * b.wq + r % nsw, b.plane, r == 0);
    } else {
      fwd_band(xb, xg, p, rt, b, r0, u.nr + u.mr);
      // whole-image bands: item it + 1's input (image, group) is fetched
      // toward L2 while these call sets run, so its band copy does not wait on
      // memory (the last item of a thread's range fetches its neighbour's: harmless)
      const T* nx = nbands == 1 && it + 1 < items ? x + (it + 1) * cg * p.ipix() : nullptr;
      for (i64 r = 0; r < nrow; ++r) {  // full: one call set from the first plane over all kh*kw*cg
        prefetch_share(nx, cg * p.ipix(), r, nrow);
        calls(wpk + (g * nrow + r) * mpad * kk, xb + rt.slot[r] * p.kw * cg * b.plane + rt.di[r] * b.wq, b.plane,
              r == 0);
      }
    }
    if (wq != p.ow) {  // phases: tile pixel i*wq + j is output pixel i*ow + j (j < ow)
      for (i64 i = 0; i < r1 - r0; ++i)
        for (i64 fo = 0; fo < fg; ++fo) {
          const T bv = bias ? bias[g * fg + fo] : T(0);
          T* o = og + fo * p.opix() + i * p.ow;
          const T* t = tr ? ot + i * wq * mpad + fo : ot + fo * b.qpad + i * wq;
          const i64 ts = tr ? mpad : 1;
          for (i64 j = 0; j < p.ow; ++j) o[j] = t[j * ts] + bv;
        }
      return;
    }
    // the transposed tile (pixels, channels) is read in strips of 64 pixels that stay in L1
    constexpr i64 kStrip = 64;
    for (i64 q0 = 0; tr && q0 < b.q; q0 += kStrip) {
      const i64 q1 = min64(b.q, q0 + kStrip);
      for (i64 fo = 0; fo < fg; ++fo) {
        const T bv = bias ? bias[g * fg + fo] : T(0);
        T* o = og + fo * p.opix();
        for (i64 q = q0; q < q1; ++q) o[q] = ot[q * mpad + fo] + bv;
      }
    }
  });
}

template <typename T>
void fwd_shifted(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  fwd_shifted_with(out, x, w, bias, p, [](i64 items, i64 each, const auto& item) { run_items<T>(items, each, item); });
}

inline i64 floor_div(i64 a, i64 b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The data gradient's phases: dx phase (a, b) holds dx rows a, a + sh, ...
// and columns b, b + sw, ...; its taps are the ki with a + ph - ki*dh
// divisible by sh (reading dout row i + e, e = (a + ph - ki*dh) / sh) and
// the kj with b + pw - kj*dw divisible by sw (column j + f likewise).
struct DataPhase {
  i64 a, b;
  i64 nh, nw;            // dx phase rows and columns
  i64 nki, ki[64], e[64];
  i64 nkj, kj[64], f[64];  // column taps in increasing f
};

inline DataPhase data_phase(const Conv2dParams& p, i64 a, i64 b) {
  DataPhase d{};
  d.a = a, d.b = b;
  d.nh = a < p.h ? ceil_div(p.h - a, p.sh) : 0;
  d.nw = b < p.w ? ceil_div(p.w - b, p.sw) : 0;
  for (i64 k = 0; k < p.kh; ++k) {
    const i64 v = a + p.ph - k * p.dh;
    if (((v % p.sh) + p.sh) % p.sh == 0) d.ki[d.nki] = k, d.e[d.nki++] = floor_div(v, p.sh);
  }
  for (i64 k = p.kw - 1; k >= 0; --k) {  // f grows as kj falls
    const i64 v = b + p.pw - k * p.dw;
    if (((v % p.sw) + p.sw) % p.sw == 0) d.kj[d.nkj] = k, d.f[d.nkj++] = floor_div(v, p.sw);
  }
  return d;
}

// One dx row of every channel from the two column phases' transposed tiles:
// o[c*cs + 2j] = t0[j*ld + c] + bias[c] (j < n0), o[c*cs + 2j + 1] = t1[j*ld + c]
// + bias[c] (j < n1). float: 4x4 blocks transposed in registers (GCC/Clang
// vector extensions, 16 bytes: every x86-64 has them); the same sums either way.
// stream: the blocks' 16-byte stores are non-temporal (stream.h) where o and
// cs keep them 16-byte aligned; the caller fences.
//   t0, t1 (n0 or n1, ld) pixels x channels; bias (m,) or null; n0 = n1 or n1 + 1
template <typename T>
void interleave_pairs_t(T* __restrict o, i64 cs, const T* __restrict t0, const T* __restrict t1, i64 ld,
                        const T* bias, i64 m, i64 n0, i64 n1, bool stream) {
  i64 c0 = 0, j4 = 0;
#if defined(__GNUC__)
  if constexpr (std::is_same_v<T, float>) {
    typedef float v4 __attribute__((vector_size(16)));
    auto ld4 = [](const float* s) { v4 v; __builtin_memcpy(&v, s, sizeof v); return v; };
#if defined(__SSE2__)
    stream = stream && reinterpret_cast<std::uintptr_t>(o) % 16 == 0 && cs % 4 == 0;
#else
    stream = false;
#endif
    auto st4 = [stream](float* d, v4 v) {
#if defined(__SSE2__)
      if (stream) return _mm_stream_ps(d, __m128(v));
#endif
      __builtin_memcpy(d, &v, sizeof v);
    };
    // r[k]: pixel j + k, channels c .. c+3  ->  per channel, pixels j .. j+3
    auto transpose = [](const v4* r, v4* t) {
      const v4 a0 = __builtin_shufflevector(r[0], r[1], 0, 4, 1, 5), a1 = __builtin_shufflevector(r[0], r[1], 2, 6, 3, 7);
      const v4 a2 = __builtin_shufflevector(r[2], r[3], 0, 4, 1, 5), a3 = __builtin_shufflevector(r[2], r[3], 2, 6, 3, 7);
      t[0] = __builtin_shufflevector(a0, a2, 0, 1, 4, 5), t[1] = __builtin_shufflevector(a0, a2, 2, 3, 6, 7);
      t[2] = __builtin_shufflevector(a1, a3, 0, 1, 4, 5), t[3] = __builtin_shufflevector(a1, a3, 2, 3, 6, 7);
    };
    j4 = n1 / 4 * 4;
    for (c0 = 0; c0 + 4 <= m; c0 += 4) {
      v4 bv[4];
      for (int q = 0; q < 4; ++q) bv[q] = v4{} + (bias ? bias[c0 + q] : 0.0f);
      for (i64 j = 0; j < j4; j += 4) {
        v4 r[4], x[4], y[4];
        for (int q = 0; q < 4; ++q) r[q] = ld4(t0 + (j + q) * ld + c0);
        transpose(r, x);
        for (int q = 0; q < 4; ++q) r[q] = ld4(t1 + (j + q) * ld + c0);
        transpose(r, y);
        for (int q = 0; q < 4; ++q) {
          float* d = o + (c0 + q) * cs + 2 * j;
          st4(d, __builtin_shufflevector(x[q], y[q], 0, 4, 1, 5) + bv[q]);
          st4(d + 4, __builtin_shufflevector(x[q], y[q], 2, 6, 3, 7) + bv[q]);
        }
      }
    }
  }
#endif
  // what the blocks left: channels from c0 at every pixel, and pixels from j4 below c0
  for (i64 c = 0; c < m; ++c) {
    const T bv = bias ? bias[c] : T(0);
    T* d = o + c * cs;
    for (i64 j = c < c0 ? j4 : 0; j < n0; ++j) d[2 * j] = t0[j * ld + c] + bv;
    for (i64 j = c < c0 ? j4 : 0; j < n1; ++j) d[2 * j + 1] = t1[j * ld + c] + bv;
  }
}

// dx (n, c, h, w) = data gradient (+ bias (c,)) by shifted GEMM. Per (image,
// group, band of dx-phase rows): column copies of dout, copy m holding
// columns j + f0 + m (f0 the smallest column shift of any phase), shared by
// every phase; a phase's column taps are consecutive copies when their
// shifts are consecutive (always with dilation 1), one call set per kernel
// row, else one per tap.
template <typename T>
void dgrad_shifted(T* dx, const T* dout, const T* w, const T* bias, const Conv2dParams& p) {
  const Micro<T> u = micro<T>();
  const i64 fg = p.fg(), cg = p.cg(), khw = p.kh * p.kw;
  const i64 nph = p.sh * p.sw;
  DataPhase* ph = reinterpret_cast<DataPhase*>(scratch_bytes(checked_mul(nph, sizeof(DataPhase)), 3));
  i64 e0 = 0, e1 = 0, f0 = 0, f1 = 0, nh = 0, nw = 0;
  bool any = false;
  for (i64 k = 0; k < nph; ++k) {
    DataPhase& d = ph[k];
    d = data_phase(p, k / p.sw, k % p.sw);
    nh = std::max(nh, d.nh), nw = std::max(nw, d.nw);
    if (d.nki == 0 || d.nkj == 0) continue;
    const i64 lo_e = *std::min_element(d.e, d.e + d.nki), hi_e = *std::max_element(d.e, d.e + d.nki);
    e0 = any ? std::min(e0, lo_e) : lo_e, e1 = any ? std::max(e1, hi_e) : hi_e;
    f0 = any ? std::min(f0, d.f[0]) : d.f[0], f1 = any ? std::max(f1, d.f[d.nkj - 1]) : d.f[d.nkj - 1];
    any = true;
  }
  const i64 ncopies = f1 - f0 + 1, wq = std::max(nw, i64{1});
  const i64 rows = shift_band_rows<T>(fg, ncopies, e1 - e0, wq, nh), nbands = ceil_div(std::max(nh, i64{1}), rows);
  const i64 items = p.n * p.groups * nbands;
  // A per tap: w_tap^T (cg, fg); a phase's kernel row with consecutive column
  // taps reads the taps (ki, kj_0), (ki, kj_1), ... as one (cg, taps*fg) matrix
  // because taps of one kernel row with kj falling are packed next to each other.
  // Column stride 2 with taps in every phase (a 4x4 stride-2 upsampler): the
  // two column phases of a row phase are kept in channels-as-rows tiles and
  // written together, interleaved (a vectorised copy out); otherwise each
  // phase's tile is written alone, with stride sw.
  bool all_taps = true;  // every phase has taps, its column taps at consecutive shifts
  for (i64 k = 0; k < nph; ++k) {
    all_taps &= ph[k].nki > 0 && ph[k].nkj > 0;
    for (i64 c = 1; c < ph[k].nkj; ++c) all_taps &= ph[k].f[c] == ph[k].f[c - 1] + 1;
  }
  const bool tr = transposed_cheaper(cg, rows * wq, u.mr, u.nr) && fg * p.kh * p.kw / nph >= kTransposedMinK;
  i64 crows = 1;  // rows per chunk: whole micro-tiles of pixels
  while (crows * wq % u.mr != 0 && crows <= 8) ++crows;
  const bool pairs = tr && p.sw == 2 && p.w >= 2 && all_taps && crows <= 8 && crows <= rows;
  // a large dx (conv_transpose2d's output) is written with streaming stores (stream.h)
  const bool stream = pairs && stream_output<T>(checked_mul(p.n * p.c, p.ipix()));
  const i64 mpad = round_up(cg, tr ? u.nr : u.mr);
  // Packs w (group, kernel row) as A panels (cg, k), or as B panels (k, cg) when transposed.
  auto pack = [&](T* dst, i64 groups, i64 nrows, i64 k, const auto& src) {
    if (tr)
      pack_row_bpanels(dst, groups, nrows, k, cg, u, [&](i64 g, i64 r, i64 kk, i64 c) { return src(g, r, c, kk); });
    else
      pack_row_panels(dst, groups, nrows, cg, k, u, src, true);  // w runs along c
  };
  // (per tap only where some phase's column taps are not consecutive)
  bool per_tap = false;
  for (i64 k = 0; k < nph; ++k)
    for (i64 c = 1; c < ph[k].nkj; ++c) per_tap |= ph[k].nki > 0 && ph[k].f[c] != ph[k].f[c - 1] + 1;
  T* wpk = per_tap ? scratch<T>(checked_mul(p.groups * khw * mpad, fg), 2) : nullptr;
  if (per_tap)
    pack(wpk, p.groups, khw, fg, [&](i64 g, i64 t, i64 c, i64 f) { return w[((g * fg + f) * cg + c) * khw + t]; });
  // ... which needs each kernel row's taps in falling kj order with one k range:
  // per (phase, ki) pack again when the phase has several column taps.
  i64 maxtaps = 1;
  for (i64 k = 0; k < nph; ++k) maxtaps = std::max(maxtaps, ph[k].nkj);
  T* wrow = scratch<T>(checked_mul(checked_mul(p.groups * nph * p.kh * mpad, maxtaps), fg), 1);
  std::vector<i64> coff(maxtaps * fg);  // col = (tap, f) of a phase's kernel row sits at coff[col] (+ c*khw + ki*kw)
  for (i64 k = 0; k < nph; ++k) {
    const DataPhase& d = ph[k];
    if (d.nkj == 0) continue;
    for (i64 col = 0; col < d.nkj * fg; ++col) coff[col] = (col % fg) * cg * khw + d.kj[col / fg];
    for (i64 r = 0; r < d.nki; ++r)
      for (i64 g = 0; g < p.groups; ++g)
        pack(wrow + ((k * p.kh + r) * p.groups + g) * mpad * maxtaps * fg, 1, 1, d.nkj * fg,
             [&](i64, i64, i64 c, i64 col) { return w[g * fg * cg * khw + coff[col] + c * khw + d.ki[r] * p.kw]; });
  }
  const ShiftBand big = make_shift_band(rows, e1 - e0, wq, u.nr);
  const i64 src_size = round_up(ncopies * fg * big.plane + u.nr + u.mr, 16);
  // per thread: dout copies, output tile (pairs: the two column phases' tiles of one chunk)
  const i64 ot_size = pairs ? round_up(crows * wq * mpad, 16)
                            : round_up(tr ? round_up(big.q, u.mr) * mpad : mpad * big.qpad, 16);
  const i64 each = src_size + (pairs ? 2 : 1) * ot_size;
  const int threads = num_threads();
  T* ws = scratch<T>(checked_mul(each, threads), 0);
  parallel_for(items, 1, threads, [&](i64 i0, i64 i1) {
    T* src = ws + omp_get_thread_num() * each;
    T* const ot0 = src + src_size;
    for (i64 it = i0; it < i1; ++it) {
      const i64 bi = it % nbands, ng = it / nbands, g = ng % p.groups, n = ng / p.groups;
      const i64 r0 = bi * rows, r1 = std::min(nh, r0 + rows);
      T* dxg = dx + (n * p.c + g * cg) * p.ipix();
      const ShiftBand b = make_shift_band(r1 - r0, e1 - e0, wq, u.nr);
      if (any) {  // copy m, channel fo, element (t, j) = dout[fo, r0 + e0 + t, j + f0 + m]
        const T* dg = dout + (n * p.f + g * fg) * p.opix();
        const bool block = b.wq == p.ow && ncopies <= 64;
        if (block) {  // band rows as wide as dout's: a channel's rows are one copy per m (see fwd_band)
          i64 lo[64], hi[64];
          for (i64 m = 0; m < ncopies; ++m) band_cols(b.wq, 1, f0 + m, p.ow, &lo[m], &hi[m]);
          const i64 t0 = std::clamp(-(r0 + e0), i64{0}, b.hb), t1 = std::clamp(p.oh - (r0 + e0), t0, b.hb);
          for (i64 fo = 0; fo < fg; ++fo)
            for (i64 m = 0; m < ncopies; ++m) {
              T* dp = src + (m * fg + fo) * b.plane;
              std::fill(dp, dp + t0 * b.wq, T(0));
              std::fill(dp + t1 * b.wq, dp + b.hb * b.wq, T(0));
              if (t1 == t0) continue;
              T* d0 = dp + t0 * b.wq;
              if (hi[m] > lo[m])
                std::memcpy(d0 + lo[m], dg + (fo * p.oh + r0 + e0 + t0) * p.ow + f0 + m + lo[m],
                            sizeof(T) * ((t1 - t0 - 1) * b.wq + hi[m] - lo[m]));
              zero_edge_cols(d0, t1 - t0, b.wq, lo[m], hi[m]);
            }
        }
        for (i64 m = 0; !block && m < ncopies; ++m) {
          i64 lo, hi;
          band_cols(b.wq, 1, f0 + m, p.ow, &lo, &hi);
          for (i64 fo = 0; fo < fg; ++fo)
            for (i64 t = 0; t < b.hb; ++t) {
              T* d = src + (m * fg + fo) * b.plane + t * b.wq;
              const i64 oh = r0 + e0 + t;
              if (oh < 0 || oh >= p.oh)
                band_row(d, d, b.wq, b.wq, b.wq, 1);
              else
                band_row(d, dg + (fo * p.oh + oh) * p.ow + f0 + m, b.wq, lo, hi, 1);
            }
        }
        std::fill(src + ncopies * fg * b.plane, src + ncopies * fg * b.plane + u.nr + u.mr, T(0));
      }
      // pairs: per row phase and chunk of crows rows, both column phases'
      // tiles (they stay in L1), then the dx rows they make, interleaved
      for (i64 a = 0; pairs && a < p.sh; ++a) {
        const DataPhase* d2 = ph + a * 2;
        const i64 pr1 = std::min(r1, d2[0].nh);
        for (i64 i0 = r0; i0 < pr1; i0 += crows) {
          const i64 nrows = min64(crows, pr1 - i0), off = (i0 - r0) * b.wq;
          for (i64 c = 0; c < 2; ++c) {
            const DataPhase& d = d2[c];
            for (i64 r = 0; r < d.nki; ++r)
              shifted_calls_t(ot0 + c * ot_size, wrow + (((a * 2 + c) * p.kh + r) * p.groups + g) * mpad * maxtaps * fg,
                              src + (d.e[r] - e0) * b.wq + (d.f[0] - f0) * fg * b.plane + off, b.plane, d.nkj * fg,
                              mpad, round_up(nrows * b.wq, u.mr), r == 0, u);
          }
          for (i64 i = 0; i < nrows; ++i)
            interleave_pairs_t(dxg + ((i0 + i) * p.sh + a) * p.w, p.ipix(), ot0 + i * b.wq * mpad,
                               ot0 + ot_size + i * b.wq * mpad, mpad, bias ? bias + g * cg : nullptr, cg, d2[0].nw,
                               d2[1].nw, stream);
        }
      }
      for (i64 k = 0; !pairs && k < nph; ++k) {
        const DataPhase& d = ph[k];
        const i64 pr1 = std::min(r1, d.nh);
        if (r0 >= pr1 || d.nw == 0) continue;
        const bool taps = d.nki > 0 && d.nkj > 0;
        bool consecutive = true;
        for (i64 c = 1; c < d.nkj; ++c) consecutive &= d.f[c] == d.f[c - 1] + 1;
        const i64 qr = round_up(b.q, u.mr);
        T* ot = ot0;
        // stride 1, plain orientation: rows r0 .. r1 of each channel are
        // contiguous in dx, written directly (bias first, when there is one)
        const bool direct = !tr && nph == 1 && taps;
        T* dxr = dxg + r0 * p.w;
        if (direct && bias) fill_bias_rows(dxr, p.ipix(), bias + g * cg, cg, b.q);
        auto calls = [&](const T* wm, const T* b0, i64 k, bool first) {
          if (tr)
            shifted_calls_t(ot, wm, b0, b.plane, k, mpad, qr, first, u);
          else if (direct)
            shifted_calls_to(dxr, p.ipix(), wm, b0, b.plane, k, cg, b.q, first && !bias, u);
          else
            shifted_calls(ot, wm, b0, b.plane, k, mpad, b.qpad, first, u);
        };
        // one phase over whole-image bands: item it + 1's dout is fetched
        // toward L2 while these calls run, as in fwd_shifted
        const T* nd = nph == 1 && nbands == 1 && it + 1 < i1 ? dout + (it + 1) * fg * p.opix() : nullptr;
        for (i64 r = 0; taps && r < d.nki; ++r) {
          const T* brow = src + (d.e[r] - e0) * b.wq;
          prefetch_share(nd, fg * p.opix(), r, d.nki);
          if (consecutive) {
            calls(wrow + ((k * p.kh + r) * p.groups + g) * mpad * maxtaps * fg, brow + (d.f[0] - f0) * fg * b.plane,
                  d.nkj * fg, r == 0);
            continue;
          }
          for (i64 c = 0; c < d.nkj; ++c)
            calls(wpk + (g * khw + d.ki[r] * p.kw + d.kj[c]) * mpad * fg, brow + (d.f[c] - f0) * fg * b.plane, fg,
                  r == 0 && c == 0);
        }
        // the phase's dx values (a phase no tap reaches gets the bias); the
        // transposed tile (pixels, channels) is read a row of pixels at a time
        for (i64 i = r0; !direct && i < pr1; ++i)
          for (i64 c = 0; c < cg; ++c) {
            const T bv = bias ? bias[g * cg + c] : T(0);
            T* o = dxg + (c * p.h + i * p.sh + d.a) * p.w + d.b;
            const i64 q0 = (i - r0) * b.wq;
            if (!taps)
              for (i64 j = 0; j < d.nw; ++j) o[j * p.sw] = bv;
            else if (tr)
              for (i64 j = 0; j < d.nw; ++j) o[j * p.sw] = ot[(q0 + j) * mpad + c] + bv;
            else
              for (i64 j = 0; j < d.nw; ++j) o[j * p.sw] = ot[c * b.qpad + q0 + j] + bv;
          }
      }
    }
    if (stream) stream_fence();
  });
}

// The weight gradient's band, channels last: row slot s, position t*ow + j,
// value (kj, c) at xt[((s*span + t*ow + j)*kw + kj)*cg + c] = the forward
// band's (s, kj, c, t, j); span >= plane positions per slot (those past
// the band are 0). A full band keeps the slots together
// per position instead: value (s, kj, c) at xt[((t*ow + j)*kh + s)*kw*cg + kj*cg + c].
// dst[j*ldd + c] = src[c*lds + j] for c < m, j < n (rows of m channels to
// channels-last). float: 4x4 blocks transposed in registers, as in
// interleave_pairs_t; the rest element by element.
template <typename T>
void transpose_to_channels_last(T* __restrict dst, i64 ldd, const T* __restrict src, i64 lds, i64 m, i64 n) {
  i64 c0 = 0, j4 = 0;
#if defined(__GNUC__)
  if constexpr (std::is_same_v<T, float>) {
    typedef float v4 __attribute__((vector_size(16)));
    auto ld4 = [](const float* s) { v4 v; __builtin_memcpy(&v, s, sizeof v); return v; };
    auto st4 = [](float* d, v4 v) { __builtin_memcpy(d, &v, sizeof v); };
    j4 = n / 4 * 4;
    for (c0 = 0; c0 + 4 <= m; c0 += 4)
      for (i64 j = 0; j < j4; j += 4) {
        v4 r[4];
        for (int q = 0; q < 4; ++q) r[q] = ld4(src + (c0 + q) * lds + j);
        const v4 a0 = __builtin_shufflevector(r[0], r[1], 0, 4, 1, 5), a1 = __builtin_shufflevector(r[0], r[1], 2, 6, 3, 7);
        const v4 a2 = __builtin_shufflevector(r[2], r[3], 0, 4, 1, 5), a3 = __builtin_shufflevector(r[2], r[3], 2, 6, 3, 7);
        st4(dst + j * ldd + c0, __builtin_shufflevector(a0, a2, 0, 1, 4, 5));
        st4(dst + (j + 1) * ldd + c0, __builtin_shufflevector(a0, a2, 2, 3, 6, 7));
        st4(dst + (j + 2) * ldd + c0, __builtin_shufflevector(a1, a3, 0, 1, 4, 5));
        st4(dst + (j + 3) * ldd + c0, __builtin_shufflevector(a1, a3, 2, 3, 6, 7));
      }
  }
#endif
  // what the blocks left: channels from c0 at every column, and columns from j4 below c0
  for (i64 c = 0; c < m; ++c)
    for (i64 j = c < c0 ? j4 : 0; j < n; ++j) dst[j * ldd + c] = src[c * lds + j];
}

// Not full: each input row is transposed once into xr, a zero-padded
// channels-last row ((w + 2 pw) positions of cg values), and position j's
// kw*cg values are then cg-value copies from it (one copy when dw = 1).
template <typename T>
void fwd_band_t(T* __restrict xt, T* __restrict xr, const T* __restrict xg, const Conv2dParams& p,
                const RowTaps& rt, const ShiftBand& b, i64 r0, i64 span) {
  const i64 cg = p.cg(), kc = p.kw * cg, stride = rt.full ? rt.slots * kc : kc;  // values per position
  if (!rt.full) {
    const i64 wp = p.w + 2 * p.pw;
    std::fill(xr, xr + p.pw * cg, T(0));
    std::fill(xr + (p.pw + p.w) * cg, xr + wp * cg, T(0));
    for (i64 s = 0; s < rt.slots; ++s) {
      T* xs = xt + s * span * kc;
      for (i64 t = 0; t < b.hb; ++t) {
        T* d = xs + t * b.wq * kc;
        const i64 ih = (r0 + t) * p.sh + rt.a[s] - p.ph;
        if (ih < 0 || ih >= p.h) {
          std::fill(d, d + b.wq * kc, T(0));
          continue;
        }
        transpose_to_channels_last(xr + p.pw * cg, cg, xg + ih * p.w, p.ipix(), cg, p.w);
        for (i64 j = 0; j < b.wq; ++j) {
          const T* sj = xr + j * p.sw * cg;
          if (p.dw == 1)
            std::memcpy(d + j * kc, sj, sizeof(T) * kc);
          else
            for (i64 kj = 0; kj < p.kw; ++kj) std::memcpy(d + j * kc + kj * cg, sj + kj * p.dw * cg, sizeof(T) * cg);
        }
      }
      std::fill(xs + b.hb * b.wq * kc, xs + span * kc, T(0));
    }
    return;
  }
  std::fill(xt, xt + rt.slots * span * kc, T(0));
  for (i64 s = 0; s < rt.slots; ++s)
    for (i64 t = 0; t < b.hb; ++t) {
      const i64 ih = (r0 + t) * p.sh + rt.a[s] - p.ph;
      if (ih < 0 || ih >= p.h) continue;
      for (i64 kj = 0; kj < p.kw; ++kj) {
        const i64 b0 = kj * p.dw - p.pw;
        i64 lo, hi;
        band_cols(b.wq, p.sw, b0, p.w, &lo, &hi);
        T* d = xt + (rt.full ? t * b.wq * stride + s * kc : (s * span + t * b.wq) * kc) + kj * cg;
        constexpr i64 C = 8;  // channels at a time: one stream per channel, contiguous stores
        for (i64 c0 = 0; c0 < cg; c0 += C) {
          const i64 cn = min64(C, cg - c0);
          const T* src[C];
          for (i64 c = 0; c < C; ++c) src[c] = xg + ((c0 + (c < cn ? c : 0)) * p.h + ih) * p.w + b0;
          if (cn == C)
            for (i64 j = lo; j < hi; ++j)
              for (i64 c = 0; c < C; ++c) d[j * stride + c0 + c] = src[c][j * p.sw];
          else
            for (i64 j = lo; j < hi; ++j)
              for (i64 c = 0; c < cn; ++c) d[j * stride + c0 + c] = src[c][j * p.sw];
        }
      }
    }
}

// dw (f, cg, kh, kw) by shifted GEMM: A is dout read in place, B the
// channels-last band. Partial sums live kernel-row-major with columns (kj, c)
// padded to whole micro-tiles, (groups, kh, mpad, npad), so every call writes
// a tile with unit column stride; one pass at the end adds the chunks in
// order and permutes into dw's layout.
//
// weight_grad_shifted_with: the set-up, then run(part, psize, nchunks,
// tiles, each, chunk) computes the chunk partials (part: nchunks of psize
// values, then `extra` values for the caller, scratch slot 1) with
// chunk(dst, first, n0, n1, t0, t1, ws): images [n0, n1) of the chunk that
// starts at image `first` into dst, tiles [t0, t1), workspace ws (`each`
// values); then the partials are added into dw.
template <typename T, typename Run>
void weight_grad_shifted_with(T* dw, const T* dout, const T* x, const Conv2dParams& p, i64 extra, const Run& run) {
  const Micro<T> u = micro<T>();
  const i64 fg = p.fg(), cg = p.cg(), khw = p.kh * p.kw, kc = p.kw * cg;
  const RowTaps rt = row_taps(p, full_band(p));
  const i64 nrow = rt.full ? 1 : p.kh, ncol = rt.full ? khw * cg : kc;  // per kernel row (or all): (ki,) kj, c
  const i64 mpad = round_up(fg, u.mr), npad = round_up(ncol, u.nr);
  const i64 rows = shift_band_rows<T>(cg, rt.slots * p.kw, rt.max_di, p.ow, p.oh), nbands = ceil_div(p.oh, rows);
  const i64 npanels = npad / u.nr, tiles = p.groups * nrow * npanels;  // (group, kernel row, column panel)
  const i64 psize = checked_mul(p.groups * nrow * mpad, npad);         // one partial gradient
  const i64 pbytes = checked_mul(psize, static_cast<i64>(sizeof(T)));
  const i64 nchunks = std::clamp(kPartialBytes / pbytes, i64{1}, min64(p.n, kWeightChunks));
  const int threads = num_threads();
  const ShiftBand big = make_shift_band(rows, rt.max_di, p.ow, u.nr);
  const i64 span = big.plane;  // positions per row slot (the calls sum exactly b.q of them, never past)
  // xt: the channels-last band, plus nr values the last column panel reads past kw*cg
  const i64 xt_size = round_up(rt.slots * span * kc + u.nr, 16);
  const i64 xr_size = round_up((p.w + 2 * p.pw) * cg, 16);  // one padded channels-last input row
  const i64 each = xt_size + xr_size;

  // Images [n0, n1) into dst, tiles [t0, t1) only: for each (image, band) in
  // order, dst += dout band @ band^T (the first contribution overwrites; rows
  // past fg of the partial are never written nor read).
  auto chunk = [&](T* dst, i64 first, i64 n0, i64 n1, i64 t0, i64 t1, T* ws) {
    T* xt = ws;
    for (i64 n = n0; n < n1; ++n)
      for (i64 g = t0 / (nrow * npanels); g <= (t1 - 1) / (nrow * npanels); ++g)
        for (i64 bi = 0; bi < nbands; ++bi) {
          const i64 r0 = bi * rows;
          const ShiftBand b = make_shift_band(std::min(p.oh, r0 + rows) - r0, rt.max_di, p.ow, u.nr);
          fwd_band_t(xt, xt + xt_size, x + (n * p.c + g * cg) * p.ipix(), p, rt, b, r0, span);
          std::fill(xt + rt.slots * span * kc, xt + rt.slots * span * kc + u.nr, T(0));
          // A is dout itself: the band's q = i*ow + j are contiguous in each channel (row stride opix)
          const T* da = dout + (n * p.f + g * fg) * p.opix() + r0 * p.ow;
          const T beta = n == first && bi == 0 ? T(0) : T(1);
          const i64 lo = std::max(t0, g * nrow * npanels), hi = std::min(t1, (g + 1) * nrow * npanels);
          for (i64 tile = lo; tile < hi; ++tile) {
            const i64 ki = (tile / npanels) % nrow, c0 = (tile % npanels) * u.nr;
            const T* bt = rt.full ? xt + c0 : xt + (rt.slot[ki] * span + rt.di[ki] * b.wq) * kc + c0;
            T* c = dst + ((g * nrow + ki) * mpad) * npad + c0;
            for (i64 r = 0; r < fg; r += u.mr)
              u.fn(min64(u.mr, fg - r), u.nr, b.q, T(1), da + r * p.opix(), p.opix(), 1, bt, ncol, beta,
                   c + r * npad, npad, 1);
          }
        }
  };

  T* part = scratch<T>(checked_mul(nchunks, psize) + extra, 1);
  run(part, psize, nchunks, tiles, each, chunk);
  // dw[g*fg + f, c, ki, kj] = sum over chunks, in order, of part[k][g][ki][f][kj*cg + c]
  // (full: part[k][g][0][f][(ki*kw + kj)*cg + c]): the chunks are added into
  // chunk 0 row by row (contiguous, vectorised; each sum still in chunk order),
  // then permuted into dw
  parallel_for(p.f, 4, threads, [&](i64 f0, i64 f1) {
    for (i64 gf = f0; gf < f1; ++gf) {
      const i64 g = gf / fg, fo = gf % fg;
      for (i64 r = 0; r < nrow; ++r) {
        T* __restrict s = part + ((g * nrow + r) * mpad + fo) * npad;
        for (i64 k = 1; k < nchunks; ++k) {
          const T* __restrict pk = s + k * psize;
          for (i64 j = 0; j < ncol; ++j) s[j] += pk[j];
        }
      }
      for (i64 c = 0; c < cg; ++c)
        for (i64 ki = 0; ki < p.kh; ++ki)
          for (i64 kj = 0; kj < p.kw; ++kj) {
            const i64 t = ki * p.kw + kj;
            const i64 i = rt.full ? (g * mpad + fo) * npad + t * cg + c
                                  : ((g * p.kh + ki) * mpad + fo) * npad + kj * cg + c;
            dw[(gf * cg + c) * khw + t] = part[i];
          }
    }
  });
}

template <typename T>
void weight_grad_shifted(T* dw, const T* dout, const T* x, const Conv2dParams& p) {
  weight_grad_shifted_with(dw, dout, x, p, 0, [&](T* part, i64 psize, i64 nchunks, i64 tiles, i64 each,
                                                  const auto& chunk) {
    const int threads = num_threads();
    T* ws = scratch<T>(checked_mul(each, threads), 0);
    if (balanced(nchunks, threads)) {
      parallel_for(nchunks, 1, threads, [&](i64 k0, i64 k1) {
        T* mine = ws + omp_get_thread_num() * each;
        for (i64 k = k0; k < k1; ++k) {
          const i64 n0 = p.n * k / nchunks;
          chunk(part + k * psize, n0, n0, p.n * (k + 1) / nchunks, 0, tiles, mine);
        }
      });
    } else {
      parallel_for(tiles, 1, threads, [&](i64 t0, i64 t1) {
        T* mine = ws + omp_get_thread_num() * each;
        for (i64 k = 0; k < nchunks; ++k) {
          const i64 n0 = p.n * k / nchunks;
          chunk(part + k * psize, n0, n0, p.n * (k + 1) / nchunks, t0, t1, mine);
        }
      });
    }
  });
}

// dx (n, c, h, w) = data gradient + bias by micro-kernel and col2im (few
// channels on either side): per (image, group) and column tile, dcol (K, np)
// = w_g^T (K, fg) @ dout tile (fg, np) -- w^T packed once, dout read in
// place -- then col2im into a zero-padded dx, tile after tile, and the
// interior (+ bias) copied out.
template <typename T>
void bwd_data_col2im(T* dx, const T* dout, const T* w, const T* bias, const Conv2dParams& p) {
  const Micro<T> u = micro<T>();
  const i64 K = p.kdim(), P = p.opix(), fg = p.fg(), cg = p.cg(), HW = p.ipix(), kpad = round_up(K, u.mr);
  const i64 hp = p.h + 2 * p.ph, wp = p.w + 2 * p.pw;
  const i64 pt = tile_cols<T>(K, P);
  const int threads = num_threads();
  const i64 units = p.n * p.groups;
  T* wt = scratch<T>(checked_mul(p.groups * kpad, fg), 2);  // w_g^T (K, fg) in A panels
  pack_row_panels(wt, p.groups, 1, K, fg, u, [&](i64 g, i64, i64 k, i64 f) { return w[(g * fg + f) * K + k]; }, true);
  // columns [j0, j1) of dcol (kpad, np) for output pixels p0 .. p0 + np
  auto dcol_cols = [&](T* dcol, i64 n, i64 g, i64 p0, i64 np, i64 j0, i64 j1) {
    const T* d = dout + (n * p.f + g * fg) * P + p0;
    for (i64 j = j0; j < j1; j += u.nr)
      for (i64 r = 0; r < kpad; r += u.mr)
        for (i64 pc = 0; pc < fg; pc += u.kc) {
          const i64 kb = min64(u.kc, fg - pc);
          u.fn(u.mr, min64(u.nr, j1 - j), kb, T(1), wt + g * kpad * fg + pc * kpad + r * kb, 1, u.mr,
               d + pc * P + j, P, pc == 0 ? T(0) : T(1), dcol + r * np + j, np, 1);
        }
  };
  // dx[n, g] channels [c0, c1) = the padded buffer's interior + bias
  auto copy_out = [&](T* dxg, const T* dxp, i64 g, i64 c0, i64 c1) {
    for (i64 c = c0; c < c1; ++c) {
      const T bv = bias ? bias[g * cg + c] : T(0);
      for (i64 i = 0; i < p.h; ++i) {
        const T* src = dxp + (c * hp + i + p.ph) * wp + p.pw;
        T* d = dxg + c * HW + i * p.w;
        for (i64 j = 0; j < p.w; ++j) d[j] = src[j] + bv;
      }
    }
  };
  const i64 dcol_size = round_up(checked_mul(kpad, pt), 16), dxp_size = round_up(checked_mul(cg, hp * wp), 16);
  if (balanced(units, threads)) {
    const i64 each = dcol_size + dxp_size;
    T* ws = scratch<T>(checked_mul(each, threads), 0);
    parallel_for(units, 1, threads, [&](i64 u0, i64 u1) {
      T* dcol = ws + omp_get_thread_num() * each;
      T* dxp = dcol + dcol_size;
      for (i64 un = u0; un < u1; ++un) {
        const i64 n = un / p.groups, g = un % p.groups;
        std::fill(dxp, dxp + cg * hp * wp, T(0));
        for (i64 p0 = 0; p0 < P; p0 += pt) {
          const i64 np = min64(pt, P - p0);
          dcol_cols(dcol, n, g, p0, np, 0, np);
          col2im_padded(dxp, dcol, p, p0, np, 0, cg);
        }
        copy_out(dx + (n * p.c + g * cg) * HW, dxp, g, 0, cg);
      }
    });
    return;
  }
  // Few units: one at a time; threads split dcol's column panels, then col2im's channels.
  T* dcol = scratch<T>(dcol_size + dxp_size, 0);
  T* dxp = dcol + dcol_size;
  for (i64 un = 0; un < units; ++un) {
    const i64 n = un / p.groups, g = un % p.groups;
    parallel_for(cg, 1, threads, [&](i64 c0, i64 c1) { std::fill(dxp + c0 * hp * wp, dxp + c1 * hp * wp, T(0)); });
    for (i64 p0 = 0; p0 < P; p0 += pt) {
      const i64 np = min64(pt, P - p0);
      parallel_for(ceil_div(np, u.nr), 1, threads,
                   [&](i64 q0, i64 q1) { dcol_cols(dcol, n, g, p0, np, q0 * u.nr, min64(np, q1 * u.nr)); });
      parallel_for(cg, 1, threads, [&](i64 c0, i64 c1) { col2im_padded(dxp, dcol, p, p0, np, c0, c1); });
    }
    parallel_for(cg, 1, threads, [&](i64 c0, i64 c1) { copy_out(dx + (n * p.c + g * cg) * HW, dxp, g, c0, c1); });
  }
}

}  // namespace

template <typename T>
void conv2d_fwd(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  if (p.n == 0) return;
  if (choose_path(p) == Path::depthwise) return depthwise_fwd(out, x, w, bias, p);
  if (use_direct<T>(p)) return direct_conv_fwd(out, x, w, bias, p);
  if (use_winograd(p)) return winograd_fwd(out, x, w, bias, p);
  if (use_winograd_s2(p)) return winograd_s2_fwd(out, x, w, bias, p);
  if (use_shifted(p)) return fwd_shifted(out, x, w, bias, p);
  fwd_implicit(out, x, w, bias, p);
}

template <typename T>
void conv2d_bwd_data(T* dx, const T* dout, const T* w, const T* bias, const Conv2dParams& p) {
  if (p.n == 0) return;
  if (choose_path(p) == Path::depthwise) return depthwise_bwd_data(dx, dout, w, bias, p);
  if (use_direct_data<T>(p)) return direct_conv_bwd_data(dx, dout, w, bias, p);
  if (use_winograd(p)) return winograd_bwd_data(dx, dout, w, bias, p);
  if (use_winograd_s2(p)) return winograd_s2_bwd_data(dx, dout, w, bias, p);
  if (use_shifted_data(p)) return dgrad_shifted(dx, dout, w, bias, p);
  bwd_data_col2im(dx, dout, w, bias, p);
}

template <typename T>
void conv2d_bwd(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, const Conv2dParams& p) {
  if (choose_path(p) == Path::depthwise) return depthwise_bwd(dx, dw, db, dout, x, w, p);
  if (p.n > 0 && use_direct<T>(p)) {  // dx too when it is a direct forward, else col2im first
    const bool dx_direct = dx && use_direct_data<T>(p);
    if (dx && !dx_direct) conv2d_bwd_data(dx, dout, w, static_cast<const T*>(nullptr), p);
    return direct_conv_bwd(dx_direct ? dx : nullptr, dw, db, dout, x, w, p);
  }
  if (dx) conv2d_bwd_data(dx, dout, w, static_cast<const T*>(nullptr), p);
  if (p.n == 0)
    std::fill(dw, dw + p.f * p.kdim(), T(0));
  else if (use_winograd_dw(p))
    winograd_bwd_weight(dw, dout, x, p);
  else if (use_shifted(p))
    weight_grad_shifted(dw, dout, x, p);
  else
    weight_grad_implicit(dw, dout, x, p);
  if (db) conv_bias_grad(db, dout, p.n, p.f, p.opix());
}

// part (n, f) = the sums of dout's planes (n, f, hw); threads split the planes.
template <typename T>
void plane_sums(T* part, const T* dout, i64 n, i64 f, i64 hw) {
  parallel_for(n * f, checked_mul(n, checked_mul(f, hw)) >= 65536 ? 16 : n * f, [&](i64 q0, i64 q1) {
    for (i64 q = q0; q < q1; ++q) part[q] = lane_sum(dout + q * hw, hw);
  });
}

// db (f,) = the plane sums part (n, f) added per channel, images in order.
template <typename T>
void add_plane_sums(T* db, const T* part, i64 n, i64 f) {
  for (i64 j = 0; j < f; ++j) {
    T s = part[j];
    for (i64 i = 1; i < n; ++i) s += part[i * f + j];
    db[j] = s;
  }
}

template <typename T>
void conv_bias_grad(T* db, const T* dout, i64 n, i64 f, i64 hw) {
  // Plane sums in memory order (threads split the (image, channel) planes),
  // then per channel the images added in order.
  if (n == 0) {
    std::fill(db, db + f, T(0));
    return;
  }
  T* part = scratch<T>(checked_mul(n, f), 1);
  plane_sums(part, dout, n, f, hw);
  add_plane_sums(db, part, n, f);
}

// On the shifted path with whole weight-gradient chunks per thread, one pass
// over the images: per image its plane sums for db (a sequential read that
// brings dout's image to L2), its data gradient (a conv2d forward of that
// image) and its weight-gradient contribution, both reading the image from
// L2 (the three separate passes each read dout from memory). Each output is the same sum in the same order as from the
// separate calls (bit-identical), and threads split whole chunks, which the
// separate passes' image split matches.
template <typename T>
void conv_transpose2d_bwd(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, const Conv2dParams& p) {
  const bool fused = p.n > 0 && choose_path(p) != Path::depthwise && !use_direct<T>(p) && use_shifted(p) &&
                     !use_winograd(p) && !use_winograd_s2(p);  // Winograd dx: separate passes
  if (!fused) {
    conv2d_fwd(dx, dout, w, static_cast<const T*>(nullptr), p);
    conv2d_bwd(static_cast<T*>(nullptr), dw, static_cast<T*>(nullptr), x, dout, w, p);
    if (db) conv_bias_grad(db, dout, p.n, p.c, p.ipix());
    return;
  }
  const int threads = num_threads();
  // dout's plane sums (n, c), after the chunk partials: computed even without db, as the
  // sequential read that brings each image to L2 (faster than the band copies' own reads)
  const i64 bsize = checked_mul(p.n, p.c);
  T* bpart = nullptr;
  fwd_shifted_with(dx, dout, w, static_cast<const T*>(nullptr), p, [&](i64 items, i64 fe, const auto& fitem) {
    weight_grad_shifted_with(dw, x, dout, p, bsize, [&](T* part, i64 psize, i64 nchunks, i64 tiles, i64 we,
                                                      const auto& wchunk) {
      bpart = part + nchunks * psize;
      if (!balanced(nchunks, threads)) {  // the gradient's columns split across threads: separate passes
        run_items<T>(items, fe, fitem);
        T* ws = scratch<T>(checked_mul(we, threads), 0);
        parallel_for(tiles, 1, threads, [&](i64 t0, i64 t1) {
          T* mine = ws + omp_get_thread_num() * we;
          for (i64 k = 0; k < nchunks; ++k) {
            const i64 n0 = p.n * k / nchunks;
            wchunk(part + k * psize, n0, n0, p.n * (k + 1) / nchunks, t0, t1, mine);
          }
        });
        if (db) plane_sums(bpart, dout, p.n, p.c, p.ipix());
        return;
      }
      const i64 per = items / p.n, each = fe + we;
      T* ws = scratch<T>(checked_mul(each, threads), 0);
      parallel_for(nchunks, 1, threads, [&](i64 k0, i64 k1) {
        T* mine = ws + omp_get_thread_num() * each;
        for (i64 k = k0; k < k1; ++k) {
          const i64 n0 = p.n * k / nchunks, n1 = p.n * (k + 1) / nchunks;
          for (i64 n = n0; n < n1; ++n) {
            for (i64 q = n * p.c; q < (n + 1) * p.c; ++q) bpart[q] = lane_sum(dout + q * p.ipix(), p.ipix());
            for (i64 it = n * per; it < (n + 1) * per; ++it) fitem(it, mine);
            wchunk(part + k * psize, n0, n, n + 1, 0, tiles, mine + fe);
          }
        }
      });
    });
  });
  if (db) add_plane_sums(db, bpart, p.n, p.c);
}

#define FASTDL_INSTANTIATE(T)                                                                     \
  template void conv2d_fwd<T>(T*, const T*, const T*, const T*, const Conv2dParams&);             \
  template void conv2d_bwd_data<T>(T*, const T*, const T*, const T*, const Conv2dParams&);        \
  template void conv2d_bwd<T>(T*, T*, T*, const T*, const T*, const T*, const Conv2dParams&);     \
  template void conv_bias_grad<T>(T*, const T*, i64, i64, i64);                                  \
  template void conv_transpose2d_bwd<T>(T*, T*, T*, const T*, const T*, const T*, const Conv2dParams&);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
