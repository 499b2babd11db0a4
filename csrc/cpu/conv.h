// conv family: conv2d (incl. pointwise 1x1 and depthwise) and, through
// conv2d's data gradient, conv_transpose2d. NCHW, C-contiguous arrays.
//
// Variants, chosen per call by shape (conv.cpp):
//   depthwise  one input channel per group: direct kernels per channel plane,
//              vectorised along rows, compiled per ISA (conv_depthwise.h)
//   shifted    >= 16 input channels per group (any stride, kernels up to
//              64x64): GEMMs on kw column-shifted copies of a band of input
//              rows -- a band copied kw times, not kh*kw times as im2col
//              would; strides through their phase planes; the data gradient
//              per phase of dx (no col2im); 1x1 convs read x in place
//   winograd   3x3, stride 1, dilation 1, >= 32 channels per group: forward and
//              data gradient by Winograd F(2x2, 3x3) (conv_winograd.h); the
//              weight gradient too with >= 64 channels and >= 1024 tiles
//   implicit   fewer channels (a 3-channel first layer): im2col rows packed
//              straight into the GEMM micro-kernel's panels, a cache-sized
//              block at a time; col2im for the data gradient
// No column matrix is ever larger than one cache-sized block, and the
// backward recomputes it rather than storing it.
//
// conv_transpose2d(x, w) is conv2d_bwd_data(dx = y, dout = x, w); its
// backward is conv2d_fwd (data) and conv2d_bwd with dx = null (weight): one
// implementation serves both ops. Shapes below use Conv2dParams' names
// (core/conv_params.h); every kernel overwrites its outputs.
#pragma once

#include "../core/common.h"
#include "../core/conv_params.h"

namespace fastdl::cpu {

// out (n, f, oh, ow) = conv2d(x, w) + bias
//   x (n, c, h, w), w (f, c/groups, kh, kw), bias (f,) or null
template <typename T>
void conv2d_fwd(T* out, const T* x, const T* w, const T* bias, const Conv2dParams& p);

// dx (n, c, h, w) = gradient of conv2d(x, w) wrt x, given dout (n, f, oh, ow), plus
// bias (c,) per channel when non-null (conv_transpose2d's forward);  w (f, c/groups, kh, kw)
template <typename T>
void conv2d_bwd_data(T* dx, const T* dout, const T* w, const T* bias, const Conv2dParams& p);

// The gradients of conv2d(x, w, b) given dout (n, f, oh, ow); dx and db may be null (not wanted).
//   dx (n, c, h, w), dw (f, c/groups, kh, kw), db (f,) = dout summed over n, oh, ow
//   x (n, c, h, w), w (f, c/groups, kh, kw) (read only when dx is wanted)
template <typename T>
void conv2d_bwd(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, const Conv2dParams& p);

// The gradients of conv_transpose2d(x, w, b) = conv2d_bwd_data(y, x, w, b) given dout,
// in conv2d's terms (p: the conv2d taking dout to x): dx = conv2d_fwd(dout, w),
// dw = conv2d_bwd's weight gradient with x and dout swapped, db (c,) = dout summed
// over n, h, w, or null (not wanted); bit-identical to those three calls.
//   dx (n, f, oh, ow), dw (f, c/groups, kh, kw), dout (n, c, h, w), x (n, f, oh, ow)
template <typename T>
void conv_transpose2d_bwd(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, const Conv2dParams& p);

// db (f,) = dout (n, f, hw) summed over n and hw, in an order fixed by the shape.
template <typename T>
void conv_bias_grad(T* db, const T* dout, i64 n, i64 f, i64 hw);

}  // namespace fastdl::cpu
