// Shapes of 2-D window ops (convolution, transposed convolution, pooling):
// one params struct and the one output-size formula, shared by the CPU
// kernels, the bindings and fd.conv_output_shape (and by CUDA later).
//
// A transposed convolution is described by the conv2d whose data gradient it
// is: (h, w) is the transposed conv's output, (oh, ow) its input, c its
// output channels and f its input channels.
#pragma once

#include <string>

#include "common.h"

namespace fastdl {

// Output length of a window op along one axis: how many windows of k taps,
// spaced d apart, start at multiples of s inside the input padded by p on
// both sides. 0 when not even one fits.
inline i64 conv_out_size(i64 in, i64 k, i64 s, i64 p, i64 d) {
  const i64 span = in + 2 * p - d * (k - 1) - 1;  // last valid start
  return span < 0 ? 0 : span / s + 1;
}

// Input length that a transposed convolution maps `in` to (PyTorch's formula);
// conv_out_size(conv_transpose_out_size(in, ...), ...) == in when op < s.
inline i64 conv_transpose_out_size(i64 in, i64 k, i64 s, i64 p, i64 d, i64 op) {
  return (in - 1) * s - 2 * p + d * (k - 1) + op + 1;
}

struct Conv2dParams {
  i64 n;       // batch size (may be 0)
  i64 c;       // input channels, all groups (>= 1)
  i64 h, w;    // input height, width (>= 1)
  i64 f;       // output channels, all groups (>= 1)
  i64 kh, kw;  // kernel height, width (>= 1); the weight is (f, c / groups, kh, kw)
  i64 sh, sw;  // stride (>= 1)
  i64 ph, pw;  // zero padding on each side (>= 0)
  i64 dh, dw;  // dilation: spacing of kernel taps (>= 1)
  i64 groups;  // channel groups; c and f are multiples of it
  i64 oh, ow;  // output height, width: conv_out_size(h, kh, sh, ph, dh) for conv2d,
               // at most that for a transposed conv's input

  i64 cg() const { return c / groups; }           // input channels per group
  i64 fg() const { return f / groups; }           // output channels per group
  i64 kdim() const { return cg() * kh * kw; }     // rows of one group's im2col matrix
  i64 opix() const { return oh * ow; }            // output pixels per channel
  i64 ipix() const { return h * w; }              // input pixels per channel
};

// Why p is not a valid convolution, or "" when it is. Entries check this
// before any kernel runs (kernels trust p).
inline std::string conv2d_params_error(const Conv2dParams& p) {
  if (p.n < 0 || p.c < 1 || p.f < 1 || p.h < 1 || p.w < 1) return "empty or negative dims";
  if (p.kh < 1 || p.kw < 1) return "kernel size must be >= 1";
  if (p.sh < 1 || p.sw < 1) return "stride must be >= 1";
  if (p.dh < 1 || p.dw < 1) return "dilation must be >= 1";
  if (p.ph < 0 || p.pw < 0) return "padding must be >= 0";
  if (p.groups < 1 || p.c % p.groups || p.f % p.groups) return "groups must divide c and f";
  if (p.oh < 1 || p.ow < 1 || p.oh > conv_out_size(p.h, p.kh, p.sh, p.ph, p.dh) ||
      p.ow > conv_out_size(p.w, p.kw, p.sw, p.pw, p.dw))
    return "output size does not match the input, kernel, stride, padding and dilation";
  return "";
}

// Pooling: each of the n * c channel planes on its own, windows as in a
// conv with dilation 1 (the same output-size formula).
struct Pool2dParams {
  i64 planes;  // n * c channel planes
  i64 h, w;    // input height, width (>= 1)
  i64 kh, kw;  // window height, width (>= 1)
  i64 sh, sw;  // stride (>= 1)
  i64 ph, pw;  // implicit padding on each side, at most half the window (every window
               // then holds at least one input element)
  i64 oh, ow;  // output height, width: conv_out_size(h, kh, sh, ph, 1), ...
};

inline std::string pool2d_params_error(const Pool2dParams& p) {
  if (p.planes < 0 || p.h < 1 || p.w < 1) return "empty or negative dims";
  if (p.kh < 1 || p.kw < 1 || p.sh < 1 || p.sw < 1) return "kernel size and stride must be >= 1";
  if (p.ph < 0 || p.pw < 0 || 2 * p.ph > p.kh || 2 * p.pw > p.kw)
    return "padding must be >= 0 and at most half the kernel size";
  if (p.oh < 1 || p.ow < 1 || p.oh != conv_out_size(p.h, p.kh, p.sh, p.ph, 1) ||
      p.ow != conv_out_size(p.w, p.kw, p.sw, p.pw, 1))
    return "output size does not match the input, kernel, stride and padding";
  return "";
}

}  // namespace fastdl
