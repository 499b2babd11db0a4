// Winograd F(2x2, 3x3) conv (see conv_winograd.h).
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
  return {wino_input<T>, wino_output<T>};
}
template WinoKernels<float> winograd_kernels<float>();
template WinoKernels<double> winograd_kernels<double>();
}  // namespace generic

namespace {

constexpr i64 kWinogradMinChannels = 32;  // per group, input and output (measured: docs/decisions.md)
constexpr i64 kWinogradBandTiles = 64;    // tiles (GEMM columns) per work item (measured)

std::atomic<i64> g_calls{0};

// u (groups, 16, ci, co) = G g G^T for every filter g = get(group, o, i) (3x3, row-major)
template <typename T, typename Get>
void filter_transform(T* u, const Wino& q, const Get& get) {
  constexpr i64 kOb = 64;  // output channels per block: t holds (16, kOb), then 16 row copies
  parallel_for(q.groups * q.ci, 8, [&](i64 r0, i64 r1) {
    alignas(64) T t16[16][kOb];  // (u's planes 16 x ci x co apart would share one L1 set: write rows)
    for (i64 r = r0; r < r1; ++r) {
      const i64 g = r / q.ci, i = r % q.ci;
      T* ug = u + g * 16 * q.ci * q.co + i * q.co;
      for (i64 o0 = 0; o0 < q.co; o0 += kOb) {
        const i64 ob = std::min(kOb, q.co - o0);
        for (i64 o = 0; o < ob; ++o) {
          double k[9], t[4][3];
          get(g, o0 + o, i, k);
          for (int b = 0; b < 3; ++b) {  // t (4, 3) = G k
            t[0][b] = k[b];
            t[1][b] = 0.5 * (k[b] + k[3 + b] + k[6 + b]);
            t[2][b] = 0.5 * (k[b] - k[3 + b] + k[6 + b]);
            t[3][b] = k[6 + b];
          }
          for (int a = 0; a < 4; ++a) {  // u (4, 4) = t G^T
            const double v[4] = {t[a][0], 0.5 * (t[a][0] + t[a][1] + t[a][2]), 0.5 * (t[a][0] - t[a][1] + t[a][2]),
                                 t[a][2]};
            for (int b = 0; b < 4; ++b) t16[a * 4 + b][o] = static_cast<T>(v[b]);
          }
        }
        for (int xi = 0; xi < 16; ++xi) std::copy(t16[xi], t16[xi] + ob, ug + xi * q.ci * q.co + o0);
      }
    }
  });
}

// Rows of tiles per band: about kWinogradBandTiles tiles (GEMM columns), a whole
// number of micro-kernel panels where the rows allow.
template <typename T>
i64 band_tile_rows(const Wino& q) {
  return std::max<i64>(1, std::min<i64>(q.tr, (kWinogradBandTiles + q.tc / 2) / q.tc));
}

// out (n, groups * co, oh, ow) = the conv of x (n, groups * ci, ih, iw) with the
// transformed filters u (groups, 16, ci, co), + bias (groups * co,) or null.
template <typename T>
void winograd_run(T* out, const T* x, const T* u, const T* bias, const Wino& q) {
  const i64 rb = band_tile_rows<T>(q), bands = ceil_div(q.tr, rb), nt_max = rb * q.tc;
  const i64 v_size = 16 * wino_plane(checked_mul(q.ci, nt_max));
  const i64 m_size = 16 * wino_plane(checked_mul(q.co, nt_max));
  const i64 pad_size = round_up(checked_mul(2 * rb + 6, 2 * q.tc + 2), 16);
  const i64 row_size = round_up(12 * q.tc + 8, 16);
  const WinoKernels<T> kern = isa_active() == Isa::avx512 ? avx512::winograd_kernels<T>()
                              : isa_active() == Isa::avx2 ? avx2::winograd_kernels<T>()
                                                          : generic::winograd_kernels<T>();
  const i64 each = v_size + m_size + pad_size + row_size;
  const i64 items = checked_mul(checked_mul(q.n, q.groups), bands);
  const int threads = num_threads();
  const i64 nr = gemm_kernel<T>(isa_active()).nr;
  T* ws = scratch<T>(checked_mul(each, threads), 0);
  const i64 in_plane = q.ih * q.iw, out_plane = q.oh * q.ow;
  parallel_for(items, 1, threads, [&](i64 i0, i64 i1) {
    T* v = ws + omp_get_thread_num() * each;
    T* m = v + v_size;
    T* pad = m + m_size;
    T* row = pad + pad_size;
    for (i64 it = i0; it < i1; ++it) {
      const i64 ng = it / bands, g = ng % q.groups, r0 = (it % bands) * rb;
      const i64 rows = std::min(rb, q.tr - r0), nt = rows * q.tc;
      kern.input(v, pad, x + ng * q.ci * in_plane, q, r0, rows);
      for (int xi = 0; xi < 16; ++xi)  // m[xi] (co, nt) = u[xi]^T (co, ci) @ v[xi] (ci, nt), both read in place
        gemm_panels<T>(q.co, nt, q.ci, T(1), {u + (g * 16 + xi) * q.co * q.ci, 1, q.co},
                       {v + xi * wino_plane(q.ci * nt), nt, nr},
                       T(0), {m + xi * wino_plane(q.co * nt), nt, 1});
      kern.output(out + ng * q.co * out_plane, row, m, bias ? bias + g * q.co : nullptr, q, r0, rows);
    }
  });
}

Wino make_wino(i64 n, i64 groups, i64 ci, i64 co, i64 ih, i64 iw, i64 oh, i64 ow, i64 pt, i64 pl) {
  return Wino{n, groups, ci, co, ih, iw, oh, ow, pt, pl, ceil_div(oh, 2), ceil_div(ow, 2)};
}

}  // namespace

bool use_winograd(const Conv2dParams& p) {
  return p.kh == 3 && p.kw == 3 && p.sh == 1 && p.sw == 1 && p.dh == 1 && p.dw == 1 &&
         p.cg() >= kWinogradMinChannels && p.fg() >= kWinogradMinChannels;
}

i64 winograd_calls() { return g_calls.load(); }

template <typename T>
void winograd_fwd(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  ++g_calls;
  const Wino q = make_wino(p.n, p.groups, p.cg(), p.fg(), p.h, p.w, p.oh, p.ow, p.ph, p.pw);
  T* u = scratch<T>(checked_mul(checked_mul(p.groups * 16, q.co), q.ci), 2);
  filter_transform(u, q, [&](i64 g, i64 o, i64 i, double* k) {
    const T* s = w + ((g * q.co + o) * q.ci + i) * 9;
    for (int t = 0; t < 9; ++t) k[t] = static_cast<double>(s[t]);
  });
  winograd_run(out, x, u, bias, q);
}

template <typename T>
void winograd_bwd_data(T* dx, const T* dout, const T* w, const T* bias, const Conv2dParams& p) {
  ++g_calls;
  // input dout (n, f, oh, ow), output dx (n, c, h, w); filter (c, f) = w (f, c) flipped
  const Wino q = make_wino(p.n, p.groups, p.fg(), p.cg(), p.oh, p.ow, p.h, p.w, 2 - p.ph, 2 - p.pw);
  T* u = scratch<T>(checked_mul(checked_mul(p.groups * 16, q.co), q.ci), 2);
  filter_transform(u, q, [&](i64 g, i64 o, i64 i, double* k) {
    const T* s = w + ((g * q.ci + i) * q.co + o) * 9;
    for (int t = 0; t < 9; ++t) k[t] = static_cast<double>(s[8 - t]);
  });
  winograd_run(dx, dout, u, bias, q);
}

#define FASTDL_INSTANTIATE(T)                                                              \
  template void winograd_fwd<T>(T*, const T*, const T*, const T*, const Conv2dParams&); \
  template void winograd_bwd_data<T>(T*, const T*, const T*, const T*, const Conv2dParams&);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
