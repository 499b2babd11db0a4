// Depthwise conv plane kernels: one (image, channel) plane at a time, on an
// input plane zero-padded first (so every tap is in bounds and the column
// loops have no edge cases). The body is plain C++ written once
// (conv_depthwise_simd.h) and compiled per ISA -- conv.cpp (baseline),
// conv_avx2.cpp, conv_avx512.cpp -- where the compiler vectorises the column
// loops at that ISA's width; conv.cpp picks the table of isa_active().
#pragma once

#include "../core/common.h"

namespace fastdl::cpu {

// Geometry of one depthwise plane.
struct DwPlane {
  i64 oh, ow;  // output plane
  i64 kh, kw;  // kernel
  i64 sh, sw;  // stride
  i64 dh, dw;  // dilation
  i64 wp;      // row stride of the padded input plane (its width)
};

// xp (h + 2 ph, w + 2 pw) = x (h, w) zero-padded.
template <typename T>
using DwPadFn = void (*)(T* xp, const T* x, i64 h, i64 w, i64 ph, i64 pw);

// o (oh, ow) = (add ? o : bias) + sum over taps of wk[ki*kw + kj] * xp[(i*sh + ki*dh)*wp + j*sw + kj*dw]
// xp: padded input plane, wk (kh, kw)
template <typename T>
using DwFwdFn = void (*)(T* o, const T* xp, const T* wk, T bias, bool add, const DwPlane& g);

// gw (kh*kw) = per tap, sum over (i, j) of d[i*ow + j] * xp[(i*sh + ki*dh)*wp + j*sw + kj*dw];
// gb (if non-null) = sum of d. Lanes of partial sums combined in a fixed order.
template <typename T>
using DwWgradFn = void (*)(T* gw, T* gb, const T* d, const T* xp, const DwPlane& g);

// Sum of d[0..n), lanes combined in a fixed order.
template <typename T>
using DwSumFn = T (*)(const T* d, i64 n);

template <typename T>
struct DwKernels {
  DwPadFn<T> pad;
  DwFwdFn<T> fwd;
  DwWgradFn<T> wgrad;
  DwSumFn<T> sum;
};

namespace generic {
template <typename T>
DwKernels<T> depthwise_kernels();
}
namespace avx2 {
template <typename T>
DwKernels<T> depthwise_kernels();
}
namespace avx512 {
template <typename T>
DwKernels<T> depthwise_kernels();
}

}  // namespace fastdl::cpu
