// Direct kernels of the few-channel path (stride 1, groups 1, a 3-channel
// first layer): one image at a time on a zero-padded input, no im2col and
// no GEMM packing. The body is written once against vec.h's interface
// (conv_direct_simd.h) and compiled per ISA -- conv.cpp (Scalar),
// conv_avx2.cpp, conv_avx512.cpp; conv.cpp picks the table of isa_active().
//
// The input taps are a list of K offsets into the padded input: tap k of
// output pixel (i, j) reads in[off[k] + i*wp + j]. The forward and the data
// gradient (a forward over dout padded by d(k-1) - p, taps flipped) use
// `fwd`; the weight gradient uses `wgrad`.
#pragma once

#include "../core/common.h"

namespace fastdl::cpu {

// One image's geometry.
struct DirectGeom {
  i64 no;         // output channels (fwd), gradient rows (wgrad)
  i64 k;          // taps: input channels x kh x kw
  i64 oh, ow;     // output plane; channel planes oh*ow apart
  i64 wp;         // row stride of the padded input
  const i64* off; // (k,) tap offsets into the padded input
};

// out (no, oh, ow) = bias + sum over k of wt[k*ldw + o] * in[off[k] + i*wp + j]
//   in: padded input (readable up to one vector past its last tap's last pixel)
//   wt (k, ldw): ldw >= no rounded up to 8, the columns past no zero; bias (no,) or null
template <typename T>
using DirectFwdFn = void (*)(T* out, const T* in, const T* wt, i64 ldw, const T* bias, const DirectGeom& g);

// gw (no, k) = per (o, k), sum over (i, j) of d[o*oh*ow + i*ow + j] * in[off[k] + i*wp + j];
// lanes of partial sums combined in a fixed order. d (no, oh, ow)
template <typename T>
using DirectWgradFn = void (*)(T* gw, const T* d, const T* in, const DirectGeom& g);

template <typename T>
struct DirectKernels {
  DirectFwdFn<T> fwd;
  DirectWgradFn<T> wgrad;
  int lanes;  // vector width: the padded input needs this many readable values past its end
};

namespace generic {
template <typename T>
DirectKernels<T> direct_kernels();
}
namespace avx2 {
template <typename T>
DirectKernels<T> direct_kernels();
}
namespace avx512 {
template <typename T>
DirectKernels<T> direct_kernels();
}

}  // namespace fastdl::cpu
