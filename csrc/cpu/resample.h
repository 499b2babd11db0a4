// resample family: upsample2d (nearest, bilinear, bicubic; align_corners),
// forward and backward, with PyTorch's `interpolate` index rules. NCHW,
// C-contiguous; every (image, channel) plane is independent.
//
// Interpolation is separable: each output row mixes a few input rows (taps)
// and each output column a few input columns, with weights that depend only
// on the output index. The entry builds those per-axis tap tables once per
// call (resample.cpp: axis_taps, the one place the index rules live); the
// kernels walk them, horizontal taps first, then vertical, as PyTorch sums.
#pragma once

#include "../core/common.h"

namespace fastdl::cpu {

enum class Interp { nearest = 0, bilinear = 1, bicubic = 2 };

struct Resample2dParams {
  i64 planes;          // n * c channel planes
  i64 h, w;            // input height, width (>= 1)
  i64 oh, ow;          // output height, width (>= 1)
  Interp mode;
  bool align_corners;  // corner pixels' centres align (bilinear, bicubic only)
  double scale_h;      // the user's scale factor along h, or 0 when a size was given:
  double scale_w;      //   source coordinates then use 1 / scale instead of h / oh (PyTorch)
};

// out (planes, oh, ow) = x (planes, h, w) interpolated.
template <typename T>
void upsample2d_fwd(T* out, const T* x, const Resample2dParams& p);

// dx (planes, h, w) = the transpose of the interpolation applied to dout (planes, oh, ow).
template <typename T>
void upsample2d_bwd(T* dx, const T* dout, const Resample2dParams& p);

}  // namespace fastdl::cpu
