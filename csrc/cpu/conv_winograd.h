// conv family, Winograd F(2x2, 3x3) variant (Lavin & Gray 2015) for 3x3,
// stride-1, dilation-1 convs with enough channels per group: 16 multiplies
// per 2x2 output tile instead of 36. conv2d_fwd and conv2d_bwd_data
// (conv.cpp) take it when use_winograd(p) holds, and conv2d_bwd's weight
// gradient by the same transforms (winograd_bwd_weight). Arrays as in conv.h
// (NCHW, C-contiguous).
// F(2x2, 2x2) (9 multiplies per 2x2 tile instead of 16) serves the 4x4
// stride-2 convs, split into 2x2 stride-1 phases: conv2d_bwd_data
// (conv_transpose2d 4x4 s2's forward) and conv2d_fwd (its dx), when
// use_winograd_s2(p) holds.
#pragma once

#include "../core/common.h"
#include "../core/conv_params.h"

namespace fastdl::cpu {

// 3x3, stride 1, dilation 1, >= kWinogradMinChannels input and output channels per group.
bool use_winograd(const Conv2dParams& p);

// out (n, f, oh, ow) = conv2d(x, w) + bias;  x (n, c, h, w), w (f, c/groups, 3, 3), bias (f,) or null
template <typename T>
void winograd_fwd(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p);

// dx (n, c, h, w) = conv2d's data gradient (+ bias (c,)) given dout (n, f, oh, ow):
// a stride-1 3x3 conv of dout with w flipped and transposed, padding 2 - ph
template <typename T>
void winograd_bwd_data(T* dx, const T* dout, const T* w, const T* bias, const Conv2dParams& p);

// use_winograd, >= kWinogradDwMinChannels channels per group and enough tiles (where the
// shifted path is slower: small images, few channels).
bool use_winograd_dw(const Conv2dParams& p);

// dw (f, c/groups, 3, 3) = conv2d's weight gradient given dout (n, f, oh, ow) and x (n, c, h, w):
// G^T (the sum over images and tiles of (A dout A^T) * (B^T x B)) G per (f, c)
template <typename T>
void winograd_bwd_weight(T* dw, const T* dout, const T* x, const Conv2dParams& p);

// 4x4, stride 2, dilation 1, >= 8 input (c) and >= 32 output (f) channels per group: conv2d's
// forward (4 c phase planes in) and data gradient (f in, 4 c phases out) take F(2x2, 2x2).
bool use_winograd_s2(const Conv2dParams& p);

// out (n, f, oh, ow) = conv2d(x, w) + bias, 4x4 stride 2, by F(2x2, 2x2): a 2x2 stride-1 conv of
// x's 4 c phase planes (plane (a, b, c') row i is x row 2 i + a - ph), no padding
template <typename T>
void winograd_s2_fwd(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p);

// dx (n, c, h, w) = conv2d's data gradient (+ bias (c,)) of a 4x4 stride-2 conv by F(2x2, 2x2):
// each of dx's 2x2 phases is a 2x2 stride-1 conv of dout, all four one conv with 4 c outputs
// on a grid of dout's pixels (padding 1 - ph / 2), written to dx interleaved
template <typename T>
void winograd_s2_bwd_data(T* dx, const T* dout, const T* w, const T* bias, const Conv2dParams& p);

// One stride-1 r x r conv (r = 3 or 2) as the kernels see it: output (i, j) of
// a plane reads input rows i - pt .. i - pt + r - 1 and columns j - pl ..
// j - pl + r - 1 (zero outside the plane; pt, pl < 0 crop).
// With r = 2 (F(2x2, 2x2)) the co outputs are (2, 2, co / 4) phases:
// output (i, j) of phase (a, b), channel c is out[c, 2 i + a + yr, 2 j + b + yc]
// of an (yh, yw) plane, dropped outside it.
struct Wino {
  i64 n, groups, ci, co;  // images, groups, input / output channels per group
  i64 ih, iw, oh, ow;     // input and output plane sizes (r = 2: the output grid)
  i64 pt, pl;             // top, left padding
  i64 tr, tc;             // tile rows, tile columns: ceil(oh / 2), ceil(ow / 2)
  i64 yh, yw, yr, yc;     // r = 2: the phases' output plane and grid (0, 0)'s place in it
  bool stream = false;    // r = 2: write the output's full lines with streaming stores (stream.h)
  i64 ps = 1;             // r = 2: output phases per axis (1: a plain conv, out = the grid)
  i64 is = 1, xpt = 0, xpl = 0;  // r = 2, is = 2: the ci = 4 c' inputs are (a, b, c') phase planes
                                 // x[c', 2 i + a - xpt, 2 j + b - xpl] of x (c', ih, iw)
};

// Elements between the 16 planes of v or m holding `size` values each: one
// cache line more than a multiple of 16, so that the 16 streams of a transform
// do not all fall into the same L1 set (a plane of 16 KiB would).
inline i64 wino_plane(i64 size) { return round_up(size, 16) + 16; }

// The tile transforms of tile rows [r0, r0 + rows) of one (image, group), nt = rows * tc tiles
// at the start of a band of ld >= nt tiles (v and m point at the segment's first tile; a
// channel's tiles are ld apart, the planes wino_plane(ci ld) / wino_plane(co ld) apart),
// compiled per ISA (bodies: conv_winograd_simd.h):
//   input   v (16, ci, nt) = B^T d B of xg (ci, ih, iw);
//           pad: (2 rows + 6) (2 tc + 2) values
//   output  og (co, oh, ow) = A^T m A (+ bias (co,) or null) of m (16, co, nt);
//           row: 12 tc + 8 values
//   grad    d (16, co / nr, nt, nr) = A g A^T of og (co, oh, ow)'s 2x2 tiles g (the weight
//           gradient's dout), in GEMM B panels of nr channels; row: 4 tc nr values
// and F(2x2, 2x2)'s (input2: 9 planes of 3x3 tiles; output2: og (co / 4, yh, yw), the phases
// interleaved, bias (co / 4,); row: 16 nt values, nt rounded up to 16).
template <typename T>
struct WinoKernels {
  void (*input)(T* v, i64 ld, T* pad, const T* xg, const Wino& q, i64 r0, i64 rows);
  void (*output)(T* og, T* row, const T* m, i64 ld, const T* bias, const Wino& q, i64 r0, i64 rows);
  void (*input2)(T* v, i64 ld, T* pad, const T* xg, const Wino& q, i64 r0, i64 rows);
  void (*output2)(T* og, T* row, const T* m, i64 ld, const T* bias, const Wino& q, i64 r0, i64 rows);
  void (*grad)(T* d, i64 nt, i64 nr, T* row, const T* og, const Wino& q, i64 r0, i64 rows);
};
namespace generic {
template <typename T>
WinoKernels<T> winograd_kernels();
}
namespace avx2 {
template <typename T>
WinoKernels<T> winograd_kernels();
}
namespace avx512 {
template <typename T>
WinoKernels<T> winograd_kernels();
}

// Calls that took the Winograd path since the module loaded (tests check the path is taken):
// forward and data gradient; weight gradient.
i64 winograd_calls();
i64 winograd_dw_calls();

}  // namespace fastdl::cpu
