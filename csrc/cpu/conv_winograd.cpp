// Winograd F(2x2, 3x3) and F(2x2, 2x2) convs (see conv_winograd.h). F(2x2, 3x3) below;
// F(2x2, 2x2) is the same with B^T = [1 -1 0; 0 1 0; 0 -1 1], G = [1 0; 1 1; 0 1],
// A^T = [1 1 0; 0 1 1], 9 GEMMs of 3x3 tiles (winograd_s2_* at the end).
//
// For one group, input channels ci, output channels co:
//   U[xi] (co, ci) = (G g G^T)[xi]       per filter, once per call (in double, rounded to T),
//                                        stored transposed (ci, co): a column panel for the micro-kernel
//   V[xi] (ci, nt) = (B^T d B)[xi]       per input channel and 4x4 tile d (tiles 2 apart, overlapping)
//   M[xi] (co, nt) = U[xi] @ V[xi]       16 GEMMs (gemm.h's gemm_panels: operands read in place, one
//                                        thread, K not blocked: ci up to a few hundred)
//   y (2x2)        = A^T m A             per output channel and tile, clipped at odd edges
// with xi = 4a + b indexing the 4x4 transformed tile and
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
// Work items are (image, group, band of tile rows), a band about 64 tiles
// (V and M: 16 (ci + co) nt values, 1 MiB at 128 channels); threads split items and every
// output is computed by one item in an order fixed by the shape, so results
// do not depend on the thread count. Input tiles past the plane (padding,
// odd sizes) read zeros from a padded copy of the band's rows.
#include "conv_winograd.h"
#include "stream.h"

#include <omp.h>

#include <algorithm>
#include <atomic>

#include "../core/isa.h"
#include "../core/parallel.h"
#include "../core/scratch.h"
#include "gemm/gemm.h"

namespace fastdl::cpu {

namespace generic {
namespace {
#include "conv_winograd_simd.h"
}  // namespace

template <typename T>
WinoKernels<T> winograd_kernels() {
  return {wino_input<T, 3>, wino_output<T>, wino_input<T, 2>, wino_output2<T>, wino_grad<T>};
}
template WinoKernels<float> winograd_kernels<float>();
template WinoKernels<double> winograd_kernels<double>();
}  // namespace generic

namespace {

constexpr i64 kWinogradMinChannels = 32;  // per group, input and output (measured: docs/decisions.md)
constexpr i64 kWinogradBandTiles = 64;    // tiles (GEMM columns) per work item (measured)
constexpr i64 kWinogradS2BandTiles = 64;  // tiles per work item, at most (measured)
constexpr i64 kWinogradS2MinChannels = 32;  // F(2x2, 2x2): f per group, and 4 c (c >= 8)

constexpr i64 kWinogradDwBandTiles = 64;   // weight gradient: tiles (the GEMMs' K) per band (measured)
constexpr i64 kWinogradDwChunks = 8;       // weight gradient: images summed into at most this many
constexpr i64 kWinogradDwChunkTiles = 256;  // partials of at least this many tiles, added in order
constexpr i64 kWinogradDwMinChannels = 64;  // weight gradient: per group, input and output (measured)
constexpr i64 kWinogradDwMinTiles = 1024;   // weight gradient: tiles in the batch (measured)
constexpr i64 kWinogradDwItems = 8;        // weight gradient: at least this many (chunk, group,
                                           // channel block) work items where channels allow

std::atomic<i64> g_calls{0};
std::atomic<i64> g_dw_calls{0};

template <typename T>
WinoKernels<T> active_kernels() {
  return isa_active() == Isa::avx512 ? avx512::winograd_kernels<T>()
         : isa_active() == Isa::avx2 ? avx2::winograd_kernels<T>()
                                     : generic::winograd_kernels<T>();
}

// u (groups, (R + 1)^2, ci, co) = G g G^T for every R x R filter g = get(group, o, i) (row-major):
// G of F(2x2, 3x3) (R = 3, the header comment) or of F(2x2, 2x2) (R = 2: [1 0; 1 1; 0 1]).
template <int R, typename T, typename Get>
void filter_transform(T* u, const Wino& q, const Get& get) {
  constexpr int A = R + 1, A2 = A * A;
  constexpr i64 kOb = 64;  // output channels per block: t holds (A2, kOb), then A2 row copies
  parallel_for(q.groups * q.ci, 8, [&](i64 r0, i64 r1) {
    alignas(64) T tb[A2][kOb];  // (u's planes A2 x ci x co apart would share one L1 set: write rows)
    for (i64 r = r0; r < r1; ++r) {
      const i64 g = r / q.ci, i = r % q.ci;
      T* ug = u + g * A2 * q.ci * q.co + i * q.co;
      for (i64 o0 = 0; o0 < q.co; o0 += kOb) {
        const i64 ob = std::min(kOb, q.co - o0);
        for (i64 o = 0; o < ob; ++o) {
          double k[R * R], t[A][R];
          get(g, o0 + o, i, k);
          if constexpr (R == 3) {
            for (int b = 0; b < 3; ++b) {  // t (4, 3) = G k
              t[0][b] = k[b];
              t[1][b] = 0.5 * (k[b] + k[3 + b] + k[6 + b]);
              t[2][b] = 0.5 * (k[b] - k[3 + b] + k[6 + b]);
              t[3][b] = k[6 + b];
            }
            for (int a = 0; a < 4; ++a) {  // u (4, 4) = t G^T
              const double v[4] = {t[a][0], 0.5 * (t[a][0] + t[a][1] + t[a][2]), 0.5 * (t[a][0] - t[a][1] + t[a][2]),
                                   t[a][2]};
              for (int b = 0; b < 4; ++b) tb[a * 4 + b][o] = static_cast<T>(v[b]);
            }
          } else {
            for (int b = 0; b < 2; ++b) {  // t (3, 2) = G k
              t[0][b] = k[b];
              t[1][b] = k[b] + k[2 + b];
              t[2][b] = k[2 + b];
            }
            for (int a = 0; a < 3; ++a) {  // u (3, 3) = t G^T
              tb[a * 3 + 0][o] = static_cast<T>(t[a][0]);
              tb[a * 3 + 1][o] = static_cast<T>(t[a][0] + t[a][1]);
              tb[a * 3 + 2][o] = static_cast<T>(t[a][1]);
            }
          }
        }
        for (int xi = 0; xi < A2; ++xi) std::copy(tb[xi], tb[xi] + ob, ug + xi * q.ci * q.co + o0);
      }
    }
  });
}

// out (n, groups * co, oh, ow) = the conv of x (n, groups * ci, ih, iw) with the
// transformed filters u (groups, (R + 1)^2, ci, co), + bias (groups * co,) or null;
// R = 2: out (n, groups * co / 4, yh, yw), the phases interleaved (Wino).
// Work items are bands of rb tile rows: of one image (R = 3, about kWinogradBandTiles
// tiles), or for R = 2 of the images' tile rows in sequence, a band crossing into the
// next image, rb the most rows of at most kWinogradS2BandTiles tiles (a 17-wide grid is
// 9 tiles a row: 7 rows are 63 of 64 micro-kernel columns, where one image is 81 of 96).
template <int R, typename T>
void winograd_run(T* out, const T* x, const T* u, const T* bias, const Wino& q) {
  constexpr int A2 = (R + 1) * (R + 1);
  const i64 rb = R == 3 ? std::max<i64>(1, std::min<i64>(q.tr, (kWinogradBandTiles + q.tc / 2) / q.tc))
                        : std::max<i64>(1, kWinogradS2BandTiles / q.tc);
  const i64 zr = R == 3 ? q.tr : checked_mul(q.n, q.tr);  // tile rows a band is cut from
  const i64 bands = ceil_div(zr, rb), nt_max = std::min(rb, zr) * q.tc;
  const i64 v_size = A2 * wino_plane(checked_mul(q.ci, nt_max));
  const i64 m_size = A2 * wino_plane(checked_mul(q.co, nt_max));
  const i64 pad_size = round_up(checked_mul(2 * rb + 6, 2 * q.tc + 2) + checked_mul(6 * (rb + 1), q.tc), 16);
  const i64 row_size = std::max(round_up(12 * q.tc + 8, 16), checked_mul(16, round_up(nt_max, 16)));
  const WinoKernels<T> kern = active_kernels<T>();
  const auto input = R == 3 ? kern.input : kern.input2;
  const auto output = R == 3 ? kern.output : kern.output2;
  const i64 bco = R == 3 ? q.co : q.co / (q.ps * q.ps);  // output channels per group in out
  const i64 xcg = q.ci / (q.is * q.is);                   // x's channels per group
  const i64 each = v_size + m_size + pad_size + row_size;
  const i64 items = checked_mul(checked_mul(R == 3 ? q.n : 1, q.groups), bands);
  const int threads = num_threads();
  const i64 nr = gemm_kernel<T>(isa_active()).nr;
  T* ws = scratch<T>(checked_mul(each, threads), 0);
  const i64 in_plane = q.ih * q.iw, out_plane = R == 3 ? q.oh * q.ow : q.yh * q.yw;
  parallel_for(items, 1, threads, [&](i64 i0, i64 i1) {
    T* v = ws + omp_get_thread_num() * each;
    T* m = v + v_size;
    T* pad = m + m_size;
    T* row = pad + pad_size;
    for (i64 it = i0; it < i1; ++it) {
      // the band: tile rows [z0, z1) of image z / zr's rows (R = 3) or of all images' (R = 2)
      const i64 g = R == 3 ? it / bands % q.groups : it / bands;
      const i64 z0 = (R == 3 ? it / bands / q.groups * zr : 0) + (it % bands) * rb;
      const i64 z1 = std::min(z0 + rb, R == 3 ? (z0 / zr + 1) * zr : zr);
      const i64 nt = (z1 - z0) * q.tc;
      const auto segments = [&](const auto& f) {  // f(image, first tile row, rows, first tile in the band)
        for (i64 z = z0; z < z1;) {
          const i64 img = z / q.tr, r0 = z % q.tr, rows = std::min(z1 - z, q.tr - r0);
          f((img * q.groups + g), r0, rows, (z - z0) * q.tc);
          z += rows;
        }
      };
      segments([&](i64 ng, i64 r0, i64 rows, i64 t0) { input(v + t0, nt, pad, x + ng * xcg * in_plane, q, r0, rows); });
      for (int xi = 0; xi < A2; ++xi)  // m[xi] (co, nt) = u[xi]^T (co, ci) @ v[xi] (ci, nt), both read in place
        gemm_panels<T>(q.co, nt, q.ci, T(1), {u + (g * A2 + xi) * q.co * q.ci, 1, q.co},
                       {v + xi * wino_plane(q.ci * nt), nt, nr},
                       T(0), {m + xi * wino_plane(q.co * nt), nt, 1});
      segments([&](i64 ng, i64 r0, i64 rows, i64 t0) {
        output(out + ng * bco * out_plane, row, m + t0, nt, bias ? bias + g * bco : nullptr, q, r0, rows);
      });
    }
  });
}

Wino make_wino(i64 n, i64 groups, i64 ci, i64 co, i64 ih, i64 iw, i64 oh, i64 ow, i64 pt, i64 pl) {
  return Wino{n, groups, ci, co, ih, iw, oh, ow, pt, pl, ceil_div(oh, 2), ceil_div(ow, 2), oh, ow, 0, 0};
}

}  // namespace

bool use_winograd(const Conv2dParams& p) {
  return p.kh == 3 && p.kw == 3 && p.sh == 1 && p.sw == 1 && p.dh == 1 && p.dw == 1 &&
         p.cg() >= kWinogradMinChannels && p.fg() >= kWinogradMinChannels;
}

bool use_winograd_dw(const Conv2dParams& p) {
  return use_winograd(p) && p.cg() >= kWinogradDwMinChannels && p.fg() >= kWinogradDwMinChannels &&
         p.n * ceil_div(p.oh, 2) * ceil_div(p.ow, 2) >= kWinogradDwMinTiles;
}

bool use_winograd_s2(const Conv2dParams& p) {
  return p.kh == 4 && p.kw == 4 && p.sh == 2 && p.sw == 2 && p.dh == 1 && p.dw == 1 &&
         4 * p.cg() >= kWinogradS2MinChannels && p.fg() >= kWinogradS2MinChannels;
}

i64 winograd_calls() { return g_calls.load(); }
i64 winograd_dw_calls() { return g_dw_calls.load(); }

template <typename T>
void winograd_fwd(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  ++g_calls;
  const Wino q = make_wino(p.n, p.groups, p.cg(), p.fg(), p.h, p.w, p.oh, p.ow, p.ph, p.pw);
  T* u = scratch<T>(checked_mul(checked_mul(p.groups * 16, q.co), q.ci), 2);
  filter_transform<3>(u, q, [&](i64 g, i64 o, i64 i, double* k) {
    const T* s = w + ((g * q.co + o) * q.ci + i) * 9;
    for (int t = 0; t < 9; ++t) k[t] = static_cast<double>(s[t]);
  });
  winograd_run<3>(out, x, u, bias, q);
}

template <typename T>
void winograd_bwd_data(T* dx, const T* dout, const T* w, const T* bias, const Conv2dParams& p) {
  ++g_calls;
  // input dout (n, f, oh, ow), output dx (n, c, h, w); filter (c, f) = w (f, c) flipped
  const Wino q = make_wino(p.n, p.groups, p.fg(), p.cg(), p.oh, p.ow, p.h, p.w, 2 - p.ph, 2 - p.pw);
  T* u = scratch<T>(checked_mul(checked_mul(p.groups * 16, q.co), q.ci), 2);
  filter_transform<3>(u, q, [&](i64 g, i64 o, i64 i, double* k) {
    const T* s = w + ((g * q.ci + i) * q.co + o) * 9;
    for (int t = 0; t < 9; ++t) k[t] = static_cast<double>(s[8 - t]);
  });
  winograd_run<3>(dx, dout, u, bias, q);
}

// Per (group, output channel o, input channel c), with xi = 4a + b:
//   M[xi] (ci, co) = sum over images and tiles of (B^T d B)[xi] (ci, tiles) @ (A g A^T)[xi] (tiles, co)
//   dw (3x3)       = G^T M G
// d x's 4x4 tiles and g dout's 2x2 tiles as in the forward (y = A^T ((G w G^T) * (B^T d B)) A is
// bilinear: dw[a][b] = <g, y of w = e_ab> = <A g A^T, (G e_ab G^T) * (B^T d B)>). The 16 GEMMs
// read both transforms in place (gemm_panels: x's as rows, dout's written as B panels).
// Work items are (chunk of images, group, block of input channels), all fixed by the shape:
// an item runs its images' tile rows in order in bands of about kWinogradDwBandTiles tiles
// (crossing images: K stays large for small images), transforms them (dout and its
// channels of x) and adds the GEMMs into its chunk's partial M; the chunks are added in
// order, then G^T M G in double. Every sum has one order whatever the thread count.
template <typename T>
void winograd_bwd_weight(T* dw, const T* dout, const T* x, const Conv2dParams& p) {
  ++g_dw_calls;
  const Wino q = make_wino(p.n, p.groups, p.cg(), p.fg(), p.h, p.w, p.oh, p.ow, p.ph, p.pw);
  const i64 ci = q.ci, co = q.co, nr = gemm_kernel<T>(isa_active()).nr, cop = round_up(co, nr);
  const i64 rb = std::max<i64>(1, kWinogradDwBandTiles / q.tc), nt_max = rb * q.tc;  // bands may cross images
  const i64 tiles = checked_mul(checked_mul(q.n, q.tr), q.tc);
  const i64 nchunks = std::clamp(tiles / kWinogradDwChunkTiles, i64{1}, std::min(q.n, kWinogradDwChunks));
  // channel blocks of 32 or more: enough items for the threads where chunks and groups are few
  const i64 want = std::min(ceil_div(kWinogradDwItems, nchunks * q.groups), std::max<i64>(1, ci / 32));
  const i64 cb = ceil_div(ci, want), cblocks = ceil_div(ci, cb);
  const i64 psize = checked_mul(checked_mul(q.groups * 16, ci), co);  // one partial: (groups, 16, ci, co)
  T* part = scratch<T>(checked_mul(nchunks, psize), 1);
  const i64 v_size = 16 * wino_plane(checked_mul(cb, nt_max)), d_size = 16 * wino_plane(checked_mul(cop, nt_max));
  const i64 pad_size = round_up(checked_mul(2 * rb + 6, 2 * q.tc + 2) + checked_mul(6 * (rb + 1), q.tc), 16);
  const i64 row_size = round_up(checked_mul(4 * q.tc, nr), 16);
  const i64 each = v_size + d_size + pad_size + row_size;
  const WinoKernels<T> kern = active_kernels<T>();
  const int threads = num_threads();
  T* ws = scratch<T>(checked_mul(each, threads), 0);
  const i64 in_plane = q.ih * q.iw, out_plane = q.oh * q.ow;
  parallel_for(nchunks * q.groups * cblocks, 1, threads, [&](i64 i0, i64 i1) {
    T* v = ws + omp_get_thread_num() * each;
    T* d = v + v_size;
    T* pad = d + d_size;
    T* row = pad + pad_size;
    for (i64 it = i0; it < i1; ++it) {
      const i64 k = it / (q.groups * cblocks), g = it / cblocks % q.groups, c0 = it % cblocks * cb;
      Wino qb = q;
      qb.ci = std::min(cb, ci - c0);
      T* dst = part + k * psize + (g * 16 * ci + c0) * co;  // M[xi] (ci, co) at xi ci co, this block's rows
      // the chunk's images' tile rows [z_lo, z_hi) in sequence, bands of rb rows
      const i64 z_lo = q.n * k / nchunks * q.tr, z_hi = q.n * (k + 1) / nchunks * q.tr;
      for (i64 z0 = z_lo; z0 < z_hi; z0 += rb) {
        const i64 z1 = std::min(z0 + rb, z_hi), nt = (z1 - z0) * q.tc;
        for (i64 z = z0; z < z1;) {  // one image's rows at a time, at tile (z - z0) tc of the band
          const i64 n = z / q.tr, r0 = z % q.tr, rows = std::min(z1 - z, q.tr - r0), t0 = (z - z0) * q.tc;
          kern.input(v + t0, nt, pad, x + (n * p.c + g * ci + c0) * in_plane, qb, r0, rows);
          kern.grad(d + t0 * nr, nt, nr, row, dout + (n * p.f + g * co) * out_plane, q, r0, rows);
          z += rows;
        }
        const T beta = z0 == z_lo ? T(0) : T(1);
        for (int xi = 0; xi < 16; ++xi)
          gemm_panels<T>(qb.ci, co, nt, T(1), {v + xi * wino_plane(qb.ci * nt), nt, 1},
                         {d + xi * wino_plane(cop * nt), nr, nt * nr}, beta, {dst + xi * ci * co, co, 1});
      }
    }
  });
  // dw[g co + o, c] = G^T (the chunks' M[.][c][o] added in chunk order) G
  parallel_for(q.groups * ci, 4, threads, [&](i64 r0, i64 r1) {
    for (i64 gc = r0; gc < r1; ++gc) {
      const i64 g = gc / ci, c = gc % ci;
      for (int xi = 0; xi < 16; ++xi) {
        T* __restrict s = part + ((g * 16 + xi) * ci + c) * co;
        for (i64 kk = 1; kk < nchunks; ++kk) {
          const T* __restrict pk = s + kk * psize;
#pragma omp simd
          for (i64 o = 0; o < co; ++o) s[o] += pk[o];
        }
      }
      for (i64 o = 0; o < co; ++o) {
        double mm[4][4], t[3][4];
        for (int xi = 0; xi < 16; ++xi) mm[xi / 4][xi % 4] = static_cast<double>(part[((g * 16 + xi) * ci + c) * co + o]);
        for (int b = 0; b < 4; ++b) {  // t (3, 4) = G^T M
          t[0][b] = mm[0][b] + 0.5 * (mm[1][b] + mm[2][b]);
          t[1][b] = 0.5 * (mm[1][b] - mm[2][b]);
          t[2][b] = 0.5 * (mm[1][b] + mm[2][b]) + mm[3][b];
        }
        T* e = dw + ((g * co + o) * ci + c) * 9;
        for (int a = 0; a < 3; ++a) {  // dw (3, 3) = t G
          e[a * 3 + 0] = static_cast<T>(t[a][0] + 0.5 * (t[a][1] + t[a][2]));
          e[a * 3 + 1] = static_cast<T>(0.5 * (t[a][1] - t[a][2]));
          e[a * 3 + 2] = static_cast<T>(0.5 * (t[a][1] + t[a][2]) + t[a][3]);
        }
      }
    }
  });
}

// dx row y = 2 u + a - ph (phase a) is the sum over dout rows u - 1 + t (t = 0, 1) with
// w's row a + 2 (1 - t): one 2x2 conv over a grid of u in [ph / 2, (h - 1 + ph) / 2 + 1),
// padding 1 - ph / 2, and so for columns; filter (a, b, c) x f of the 4 c outputs.
template <typename T>
void winograd_s2_bwd_data(T* dx, const T* dout, const T* w, const T* bias, const Conv2dParams& p) {
  ++g_calls;
  const i64 u0 = p.ph / 2, v0 = p.pw / 2;
  Wino q = make_wino(p.n, p.groups, p.fg(), 4 * p.cg(), p.oh, p.ow, (p.h - 1 + p.ph) / 2 + 1 - u0,
                     (p.w - 1 + p.pw) / 2 + 1 - v0, 1 - u0, 1 - v0);
  q.yh = p.h, q.yw = p.w, q.yr = 2 * u0 - p.ph, q.yc = 2 * v0 - p.pw, q.ps = 2;
  q.stream = stream_output<T>(checked_mul(p.n * p.c, p.ipix()));
  const i64 cg = p.cg();
  T* u = scratch<T>(checked_mul(checked_mul(p.groups * 9, q.co), q.ci), 2);
  filter_transform<2>(u, q, [&](i64 g, i64 o, i64 i, double* k) {
    const i64 a = o / (2 * cg), b = o / cg % 2, c = o % cg;
    const T* s = w + ((g * q.ci + i) * cg + c) * 16;
    for (int t = 0; t < 2; ++t)
      for (int e = 0; e < 2; ++e) k[t * 2 + e] = static_cast<double>(s[(a + 2 * (1 - t)) * 4 + b + 2 * (1 - e)]);
  });
  winograd_run<2>(dx, dout, u, bias, q);
}

// out row i, tap row a + 2 t reads x row 2 (i + t) + a - ph: phase plane (a, b, c) row i + t
template <typename T>
void winograd_s2_fwd(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  ++g_calls;
  const i64 cg = p.cg();
  Wino q = make_wino(p.n, p.groups, 4 * cg, p.fg(), p.h, p.w, p.oh, p.ow, 0, 0);
  q.is = 2, q.xpt = p.ph, q.xpl = p.pw;
  q.stream = stream_output<T>(checked_mul(p.n * p.f, p.opix()));
  T* u = scratch<T>(checked_mul(checked_mul(p.groups * 9, q.co), q.ci), 2);
  filter_transform<2>(u, q, [&](i64 g, i64 o, i64 i, double* k) {
    const i64 a = i / (2 * cg), b = i / cg % 2, c = i % cg;
    const T* s = w + ((g * q.co + o) * cg + c) * 16;
    for (int t = 0; t < 2; ++t)
      for (int e = 0; e < 2; ++e) k[t * 2 + e] = static_cast<double>(s[(a + 2 * t) * 4 + b + 2 * e]);
  });
  winograd_run<2>(out, x, u, bias, q);
}

#define FASTDL_INSTANTIATE(T)                                                              \
  template void winograd_fwd<T>(T*, const T*, const T*, const T*, const Conv2dParams&); \
  template void winograd_bwd_data<T>(T*, const T*, const T*, const T*, const Conv2dParams&); \
  template void winograd_bwd_weight<T>(T*, const T*, const T*, const Conv2dParams&);            \
  template void winograd_s2_bwd_data<T>(T*, const T*, const T*, const T*, const Conv2dParams&); \
  template void winograd_s2_fwd<T>(T*, const T*, const T*, const T*, const Conv2dParams&);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
