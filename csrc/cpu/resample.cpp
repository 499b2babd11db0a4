// resample family kernels (see resample.h).
#include "resample.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../core/parallel.h"
#include "../core/scratch.h"

namespace fastdl::cpu {

namespace {

inline i64 clamp64(i64 v, i64 lo, i64 hi) { return v < lo ? lo : (v > hi ? hi : v); }

// One axis of the interpolation: output index o reads input indices
// idx[o*nt .. o*nt + nt) (clamped into [0, in)) with weights wt[...].
template <typename T>
struct AxisTaps {
  i64 nt;
  i64* idx;
  T* wt;
};

// PyTorch's area_pixel_compute_scale, in T (its opmath type for float and double).
template <typename T>
T axis_scale(i64 in, i64 out, bool align_corners, double scale) {
  if (align_corners) return out > 1 ? T(in - 1) / T(out - 1) : T(0);
  return scale > 0 ? T(1.0 / scale) : T(in) / T(out);
}

// Fills the taps of one axis with PyTorch's index rules:
//   nearest   src = min(floor(o * s), in - 1) in float (o when out == in, o / 2 when out == 2 in)
//   bilinear  src = s (o + 1/2) - 1/2 clamped at 0 (s o with align_corners); taps floor(src)
//             and the next one, weights 1 - l, l (identity when out == in)
//   bicubic   src as bilinear without the clamp; taps floor(src) - 1 .. + 2 clamped into
//             the input, Keys' cubic convolution weights with A = -0.75
template <typename T>
void axis_taps(AxisTaps<T> t, i64 in, i64 out, Interp mode, bool align_corners, double scale) {
  for (i64 o = 0; o < out; ++o) {
    i64* idx = t.idx + o * t.nt;
    T* wt = t.wt + o * t.nt;
    if (mode == Interp::nearest) {
      const float s = scale > 0 ? float(1.0 / scale) : float(in) / float(out);
      idx[0] = out == in ? o : out == 2 * in ? o >> 1 : std::min(i64(std::floor(float(o) * s)), in - 1);
      wt[0] = T(1);
      continue;
    }
    const T s = axis_scale<T>(in, out, align_corners, scale);
    T src = align_corners ? s * T(o) : s * (T(o) + T(0.5)) - T(0.5);
    if (mode == Interp::bilinear) {
      if (out == in) {
        idx[0] = idx[1] = o, wt[0] = T(1), wt[1] = T(0);
        continue;
      }
      if (src < T(0)) src = T(0);
      const i64 i0 = std::min(i64(std::floor(src)), in - 1);
      const T l = std::min(std::max(src - T(i0), T(0)), T(1));
      idx[0] = i0, idx[1] = i0 + (i0 < in - 1 ? 1 : 0);
      wt[0] = T(1) - l, wt[1] = l;
      continue;
    }
    const i64 i0 = std::min(i64(std::floor(src)), in - 1);
    const T x = std::min(std::max(src - T(i0), T(0)), T(1));
    const T a = T(-0.75);
    auto near = [a](T d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };           // |d| <= 1
    auto far = [a](T d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };      // 1 < |d| < 2
    wt[0] = far(x + 1), wt[1] = near(x), wt[2] = near(1 - x), wt[3] = far(2 - x);
    for (int k = 0; k < 4; ++k) idx[k] = clamp64(i0 - 1 + k, 0, in - 1);
  }
}

// Tap tables of both axes, from scratch slot 0 (rows) and 1 (columns).
template <typename T>
struct Plan {
  AxisTaps<T> rows, cols;
  bool copy;  // output = input (bicubic of the same size, as PyTorch)
};

template <typename T>
Plan<T> make_plan(const Resample2dParams& p) {
  const i64 nt = p.mode == Interp::nearest ? 1 : p.mode == Interp::bilinear ? 2 : 4;
  auto alloc = [&](i64 out, int slot) {
    char* b = static_cast<char*>(scratch_bytes(checked_mul(out * nt, sizeof(i64) + sizeof(T)), slot));
    return AxisTaps<T>{nt, reinterpret_cast<i64*>(b), reinterpret_cast<T*>(b + out * nt * sizeof(i64))};
  };
  Plan<T> pl{alloc(p.oh, 0), alloc(p.ow, 1), p.mode == Interp::bicubic && p.oh == p.h && p.ow == p.w};
  axis_taps(pl.rows, p.h, p.oh, p.mode, p.align_corners, p.scale_h);
  axis_taps(pl.cols, p.w, p.ow, p.mode, p.align_corners, p.scale_w);
  return pl;
}

constexpr i64 kPlaneGrain = 4;

}  // namespace

template <typename T>
void upsample2d_fwd(T* out, const T* x, const Resample2dParams& p) {
  const i64 ipix = p.h * p.w, opix = p.oh * p.ow;
  const Plan<T> pl = make_plan<T>(p);
  if (pl.copy) {
    std::memcpy(out, x, sizeof(T) * p.planes * ipix);
    return;
  }
  const AxisTaps<T> r = pl.rows, c = pl.cols;
  parallel_for(p.planes, kPlaneGrain, [&](i64 q0, i64 q1) {
    for (i64 q = q0; q < q1; ++q)
      for (i64 oh = 0; oh < p.oh; ++oh) {
        T* __restrict orow = out + q * opix + oh * p.ow;
        if (p.mode == Interp::nearest) {
          const T* xr = x + q * ipix + r.idx[oh] * p.w;
          for (i64 j = 0; j < p.ow; ++j) orow[j] = xr[c.idx[j]];
          continue;
        }
        // orow = sum over row taps of wy * (sum over column taps of wx * x)
        for (i64 ty = 0; ty < r.nt; ++ty) {
          const T* xr = x + q * ipix + r.idx[oh * r.nt + ty] * p.w;
          const T wy = r.wt[oh * r.nt + ty];
          for (i64 j = 0; j < p.ow; ++j) {
            const i64* ix = c.idx + j * c.nt;
            const T* wx = c.wt + j * c.nt;
            T s = wx[0] * xr[ix[0]];
            for (i64 tx = 1; tx < c.nt; ++tx) s += wx[tx] * xr[ix[tx]];
            orow[j] = ty == 0 ? wy * s : orow[j] + wy * s;
          }
        }
      }
  });
}

template <typename T>
void upsample2d_bwd(T* dx, const T* dout, const Resample2dParams& p) {
  const i64 ipix = p.h * p.w, opix = p.oh * p.ow;
  const Plan<T> pl = make_plan<T>(p);
  if (pl.copy) {
    std::memcpy(dx, dout, sizeof(T) * p.planes * ipix);
    return;
  }
  const AxisTaps<T> r = pl.rows, c = pl.cols;
  parallel_for(p.planes, kPlaneGrain, [&](i64 q0, i64 q1) {
    for (i64 q = q0; q < q1; ++q) {
      T* dp = dx + q * ipix;
      std::fill(dp, dp + ipix, T(0));
      // Output order (oh, ow), then row taps, then column taps: a fixed order per dx element.
      for (i64 oh = 0; oh < p.oh; ++oh) {
        const T* g = dout + q * opix + oh * p.ow;
        for (i64 ty = 0; ty < r.nt; ++ty) {
          T* dr = dp + r.idx[oh * r.nt + ty] * p.w;
          const T wy = r.wt[oh * r.nt + ty];
          for (i64 j = 0; j < p.ow; ++j) {
            const T gy = wy * g[j];
            for (i64 tx = 0; tx < c.nt; ++tx) dr[c.idx[j * c.nt + tx]] += c.wt[j * c.nt + tx] * gy;
          }
        }
      }
    }
  });
}

#define FASTDL_INSTANTIATE(T)                                                    \
  template void upsample2d_fwd<T>(T*, const T*, const Resample2dParams&);       \
  template void upsample2d_bwd<T>(T*, const T*, const Resample2dParams&);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
