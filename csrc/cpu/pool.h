// pool family: max_pool2d and avg_pool2d, forward and backward. NCHW,
// C-contiguous; every (image, channel) plane is independent, so threads split
// planes and each plane is summed in a fixed order.
//
// Variants (pool.cpp): 2x2 windows with stride 2 and no padding (the common
// downsampler) have their own loops, one pass that writes every output
// element once; everything else takes the general window loops, vectorised
// along output rows for stride 1.
//
// max_pool2d stores no argmax: its backward recomputes each window's maximum
// from x (as cheap as reading stored indices, and nothing is kept alive).
// NaN counts as larger than any number (it propagates, as in PyTorch).
#pragma once

#include "../core/common.h"
#include "../core/conv_params.h"

namespace fastdl::cpu {

// out (planes, oh, ow) = max of each window of x (planes, h, w); padding is -inf.
template <typename T>
void max_pool2d_fwd(T* out, const T* x, const Pool2dParams& p);

// dx (planes, h, w): dout (planes, oh, ow) routed to each window's maximum in x:
// to the first maximum in row-major window order (split = false), or shared
// equally among all equal maxima (split = true).
template <typename T>
void max_pool2d_bwd(T* dx, const T* dout, const T* x, const Pool2dParams& p, bool split);

// out (planes, oh, ow) = mean of each window of x (planes, h, w); the divisor
// is kh * kw (count_include_pad) or the number of window elements inside x.
template <typename T>
void avg_pool2d_fwd(T* out, const T* x, const Pool2dParams& p, bool count_include_pad);

// dx (planes, h, w) = each dout (planes, oh, ow) / divisor spread over its window.
template <typename T>
void avg_pool2d_bwd(T* dx, const T* dout, const Pool2dParams& p, bool count_include_pad);

}  // namespace fastdl::cpu
