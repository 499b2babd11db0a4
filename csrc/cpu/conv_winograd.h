// conv family, Winograd F(2x2, 3x3) variant (Lavin & Gray 2015) for 3x3,
// stride-1, dilation-1 convs with enough channels per group: 16 multiplies
// per 2x2 output tile instead of 36. conv2d_fwd and conv2d_bwd_data
// (conv.cpp) take it when use_winograd(p) holds; the weight gradient stays
// on the shifted path. Arrays as in conv.h (NCHW, C-contiguous).
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

// One stride-1 3x3 conv as the kernels see it: output (i, j) of a plane reads
// input rows i - pt .. i - pt + 2 and columns j - pl .. j - pl + 2 (zero
// outside the plane; pt, pl < 0 crop).
struct Wino {
  i64 n, groups, ci, co;  // images, groups, input / output channels per group
  i64 ih, iw, oh, ow;     // input and output plane sizes
  i64 pt, pl;             // top, left padding
  i64 tr, tc;             // tile rows, tile columns: ceil(oh / 2), ceil(ow / 2)
};

// Elements between the 16 planes of v or m holding `size` values each: one
// cache line more than a multiple of 16, so that the 16 streams of a transform
// do not all fall into the same L1 set (a plane of 16 KiB would).
inline i64 wino_plane(i64 size) { return round_up(size, 16) + 16; }

// The tile transforms of tile rows [r0, r0 + rows) of one (image, group), nt = rows * tc tiles,
// compiled per ISA (bodies: conv_winograd_simd.h):
//   input   v (16, ci, nt) = B^T d B of xg (ci, ih, iw), v's planes wino_plane(ci nt) apart;
//           pad: (2 rows + 6) (2 tc + 2) values
//   output  og (co, oh, ow) = A^T m A (+ bias (co,) or null) of m (16, co, nt), m's planes
//           wino_plane(co nt) apart;  row: 12 tc + 8 values
template <typename T>
struct WinoKernels {
  void (*input)(T* v, T* pad, const T* xg, const Wino& q, i64 r0, i64 rows);
  void (*output)(T* og, T* row, const T* m, const T* bias, const Wino& q, i64 r0, i64 rows);
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

// Calls that took the Winograd path since the module loaded (tests check the path is taken).
i64 winograd_calls();

}  // namespace fastdl::cpu
