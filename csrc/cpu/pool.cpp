// pool family kernels (see pool.h).
#include "pool.h"

#include <algorithm>
#include <limits>

#include <omp.h>

#include "../core/parallel.h"
#include "../core/scratch.h"

namespace fastdl::cpu {

namespace {

inline i64 min64(i64 a, i64 b) { return a < b ? a : b; }
inline i64 max64(i64 a, i64 b) { return a > b ? a : b; }
inline i64 cdiv0(i64 a, i64 b) { return a <= 0 ? 0 : ceil_div(a, b); }

// The larger of m and v, NaN winning: v replaces m when v > m or v is NaN.
// (Nested selects rather than ||: GCC vectorises this form.)
template <typename T>
inline T nan_max(T m, T v) {
  return v > m ? v : (v != v ? v : m);
}

// v is a maximum of a window whose maximum is m (NaN: the NaN elements).
template <typename T>
inline bool is_max(T v, T m) {
  return v == m || v != v;
}

inline bool is_2x2s2(const Pool2dParams& p) {
  return p.kh == 2 && p.kw == 2 && p.sh == 2 && p.sw == 2 && p.ph == 0 && p.pw == 0;
}

// Output columns [lo, hi) whose window tap kj lies inside the input row.
struct TapRange {
  i64 lo, hi;
};
inline TapRange tap_range(const Pool2dParams& p, i64 kj) {
  const i64 lo = min64(cdiv0(p.pw - kj, p.sw), p.ow);
  return {lo, max64(lo, min64(cdiv0(p.w + p.pw - kj, p.sw), p.ow))};
}

// Input rows [r0, r1) and columns [c0, c1) of window (oh, ow), clipped to x.
struct Window {
  i64 r0, r1, c0, c1;
};
inline Window window(const Pool2dParams& p, i64 oh, i64 ow) {
  const i64 r = oh * p.sh - p.ph, c = ow * p.sw - p.pw;
  return {max64(r, 0), min64(r + p.kh, p.h), max64(c, 0), min64(c + p.kw, p.w)};
}

template <typename T>
inline T divisor(const Pool2dParams& p, const Window& win, bool count_include_pad) {
  return count_include_pad ? T(p.kh * p.kw) : T((win.r1 - win.r0) * (win.c1 - win.c0));
}

constexpr i64 kPlaneGrain = 8;  // planes per thread chunk at least (a 32x32 plane is ~4 KiB)

// ---------------------------------------------------------------------------
// General window loops: one output row at a time, taps outer and output
// columns inner, so stride-1 rows vectorise.

// Combines every valid window tap of output row oh into orow (ow), starting from init.
template <typename T, typename Op>
void window_row(T* __restrict orow, const T* __restrict xp, const Pool2dParams& p, i64 oh,
                const TapRange* tr, T init, const Op& op) {
  for (i64 j = 0; j < p.ow; ++j) orow[j] = init;
  for (i64 ki = 0; ki < p.kh; ++ki) {
    const i64 ih = oh * p.sh - p.ph + ki;
    if (ih < 0 || ih >= p.h) continue;
    const T* xr = xp + ih * p.w;
    for (i64 kj = 0; kj < p.kw; ++kj) {
      const i64 shift = kj - p.pw;
      if (p.sw == 1)
        for (i64 j = tr[kj].lo; j < tr[kj].hi; ++j) orow[j] = op(orow[j], xr[j + shift]);
      else
        for (i64 j = tr[kj].lo; j < tr[kj].hi; ++j) orow[j] = op(orow[j], xr[j * p.sw + shift]);
    }
  }
}

// Tap ranges of every window column (kw entries from scratch slot 1).
inline const TapRange* tap_ranges(const Pool2dParams& p) {
  TapRange* t = scratch<TapRange>(p.kw, 1);
  for (i64 kj = 0; kj < p.kw; ++kj) t[kj] = tap_range(p, kj);
  return t;
}

}  // namespace

// ---------------------------------------------------------------------------
// max_pool2d

template <typename T>
void max_pool2d_fwd(T* out, const T* x, const Pool2dParams& p) {
  const i64 ipix = p.h * p.w, opix = p.oh * p.ow;
  if (is_2x2s2(p)) {
    parallel_for(p.planes, kPlaneGrain, [&](i64 q0, i64 q1) {
      for (i64 q = q0; q < q1; ++q)
        for (i64 i = 0; i < p.oh; ++i) {
          const T* __restrict r0 = x + q * ipix + 2 * i * p.w;
          const T* __restrict r1 = r0 + p.w;
          T* __restrict o = out + q * opix + i * p.ow;
          for (i64 j = 0; j < p.ow; ++j)
            o[j] = nan_max(nan_max(r0[2 * j], r0[2 * j + 1]), nan_max(r1[2 * j], r1[2 * j + 1]));
        }
    });
    return;
  }
  const TapRange* tr = tap_ranges(p);
  const T lowest = -std::numeric_limits<T>::infinity();
  parallel_for(p.planes, kPlaneGrain, [&](i64 q0, i64 q1) {
    for (i64 q = q0; q < q1; ++q)
      for (i64 oh = 0; oh < p.oh; ++oh)
        window_row(out + q * opix + oh * p.ow, x + q * ipix, p, oh, tr, lowest,
                   [](T m, T v) { return nan_max(m, v); });
  });
}

template <typename T>
void max_pool2d_bwd(T* dx, const T* dout, const T* x, const Pool2dParams& p, bool split) {
  const i64 ipix = p.h * p.w, opix = p.oh * p.ow;
  if (is_2x2s2(p)) {
    // Windows tile x exactly (bar an odd last row/column, whose gradient is 0),
    // so every dx element is written once, in one pass.
    parallel_for(p.planes, kPlaneGrain, [&](i64 q0, i64 q1) {
      for (i64 q = q0; q < q1; ++q) {
        T* dp = dx + q * ipix;
        for (i64 i = 0; i < p.oh; ++i) {
          const T* __restrict r0 = x + q * ipix + 2 * i * p.w;
          const T* __restrict r1 = r0 + p.w;
          T* __restrict d0 = dp + 2 * i * p.w;
          T* __restrict d1 = d0 + p.w;
          const T* __restrict g = dout + q * opix + i * p.ow;
          // Selects on T only, so the row loops vectorise.
          if (split) {
            for (i64 j = 0; j < p.ow; ++j) {
              const T a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
              const T m = nan_max(nan_max(a, b), nan_max(c, d));
              const T ia = is_max(a, m) ? T(1) : T(0), ib = is_max(b, m) ? T(1) : T(0);
              const T ic = is_max(c, m) ? T(1) : T(0), id = is_max(d, m) ? T(1) : T(0);
              const T share = g[j] / (((ia + ib) + ic) + id);
              d0[2 * j] = is_max(a, m) ? share : T(0), d0[2 * j + 1] = is_max(b, m) ? share : T(0);
              d1[2 * j] = is_max(c, m) ? share : T(0), d1[2 * j + 1] = is_max(d, m) ? share : T(0);
            }
          } else {
            for (i64 j = 0; j < p.ow; ++j) {
              const T a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
              const T m = nan_max(nan_max(a, b), nan_max(c, d));
              T rest = g[j];  // the gradient not yet given to an earlier maximum
              const T ga = is_max(a, m) ? rest : T(0);
              rest = is_max(a, m) ? T(0) : rest;
              const T gb = is_max(b, m) ? rest : T(0);
              rest = is_max(b, m) ? T(0) : rest;
              const T gc = is_max(c, m) ? rest : T(0);
              rest = is_max(c, m) ? T(0) : rest;
              d0[2 * j] = ga, d0[2 * j + 1] = gb, d1[2 * j] = gc, d1[2 * j + 1] = rest;
            }
          }
          if (p.w % 2) d0[p.w - 1] = d1[p.w - 1] = T(0);
        }
        if (p.h % 2) std::fill(dp + (p.h - 1) * p.w, dp + ipix, T(0));
      }
    });
    return;
  }
  // General windows, one output row at a time: the first maximum of every
  // window of the row (taps in row-major order; bitwise ops on bools so the
  // stride-1 loop vectorises), then the scatter in output order.
  const TapRange* tr = tap_ranges(p);
  const int threads = num_threads();
  const i64 row = round_up(p.ow, 16);
  T* rows = scratch<T>(checked_mul(2 * row, threads), 0);
  parallel_for(p.planes, kPlaneGrain, threads, [&](i64 q0, i64 q1) {
    T* m = rows + omp_get_thread_num() * 2 * row;  // (ow) window maximum
    T* tap = m + row;                              // (ow) its tap ki * kw + kj, -1 before the first
    for (i64 q = q0; q < q1; ++q) {
      const T* xp = x + q * ipix;
      T* dp = dx + q * ipix;
      std::fill(dp, dp + ipix, T(0));
      for (i64 oh = 0; oh < p.oh; ++oh) {
        std::fill(m, m + p.ow, T(0));
        std::fill(tap, tap + p.ow, T(-1));
        for (i64 ki = 0; ki < p.kh; ++ki) {
          const i64 ih = oh * p.sh - p.ph + ki;
          if (ih < 0 || ih >= p.h) continue;
          for (i64 kj = 0; kj < p.kw; ++kj) {
            const T* xr = xp + ih * p.w + kj - p.pw;
            const T t = T(ki * p.kw + kj);
            auto update = [&](i64 j, T v) {
              const T mj = m[j], tj = tap[j];
              const bool take = (tj < T(0)) | (v > mj) | ((v != v) & (mj == mj));
              m[j] = take ? v : mj;
              tap[j] = take ? t : tj;
            };
            if (p.sw == 1)
              for (i64 j = tr[kj].lo; j < tr[kj].hi; ++j) update(j, xr[j]);
            else
              for (i64 j = tr[kj].lo; j < tr[kj].hi; ++j) update(j, xr[j * p.sw]);
          }
        }
        const T* g = dout + q * opix + oh * p.ow;
        if (!split) {
          for (i64 j = 0; j < p.ow; ++j) {
            const i64 t = static_cast<i64>(tap[j]), ki = t / p.kw, kj = t % p.kw;
            dp[(oh * p.sh - p.ph + ki) * p.w + j * p.sw - p.pw + kj] += g[j];
          }
          continue;
        }
        for (i64 j = 0; j < p.ow; ++j) {
          const Window win = window(p, oh, j);
          i64 count = 0;
          for (i64 r = win.r0; r < win.r1; ++r)
            for (i64 c = win.c0; c < win.c1; ++c) count += is_max(xp[r * p.w + c], m[j]);
          const T share = g[j] / T(count);
          for (i64 r = win.r0; r < win.r1; ++r)
            for (i64 c = win.c0; c < win.c1; ++c)
              if (is_max(xp[r * p.w + c], m[j])) dp[r * p.w + c] += share;
        }
      }
    }
  });
}

// ---------------------------------------------------------------------------
// avg_pool2d

template <typename T>
void avg_pool2d_fwd(T* out, const T* x, const Pool2dParams& p, bool count_include_pad) {
  const i64 ipix = p.h * p.w, opix = p.oh * p.ow;
  if (is_2x2s2(p)) {
    parallel_for(p.planes, kPlaneGrain, [&](i64 q0, i64 q1) {
      for (i64 q = q0; q < q1; ++q)
        for (i64 i = 0; i < p.oh; ++i) {
          const T* r0 = x + q * ipix + 2 * i * p.w;
          const T* r1 = r0 + p.w;
          T* o = out + q * opix + i * p.ow;
          for (i64 j = 0; j < p.ow; ++j) o[j] = (((r0[2 * j] + r0[2 * j + 1]) + r1[2 * j]) + r1[2 * j + 1]) / T(4);
        }
    });
    return;
  }
  const TapRange* tr = tap_ranges(p);
  parallel_for(p.planes, kPlaneGrain, [&](i64 q0, i64 q1) {
    for (i64 q = q0; q < q1; ++q)
      for (i64 oh = 0; oh < p.oh; ++oh) {
        T* orow = out + q * opix + oh * p.ow;
        window_row(orow, x + q * ipix, p, oh, tr, T(0), [](T s, T v) { return s + v; });
        for (i64 ow = 0; ow < p.ow; ++ow) orow[ow] /= divisor<T>(p, window(p, oh, ow), count_include_pad);
      }
  });
}

template <typename T>
void avg_pool2d_bwd(T* dx, const T* dout, const Pool2dParams& p, bool count_include_pad) {
  const i64 ipix = p.h * p.w, opix = p.oh * p.ow;
  if (is_2x2s2(p)) {
    parallel_for(p.planes, kPlaneGrain, [&](i64 q0, i64 q1) {
      for (i64 q = q0; q < q1; ++q) {
        T* dp = dx + q * ipix;
        for (i64 i = 0; i < p.oh; ++i) {
          T* d0 = dp + 2 * i * p.w;
          T* d1 = d0 + p.w;
          const T* g = dout + q * opix + i * p.ow;
          for (i64 j = 0; j < p.ow; ++j) {
            const T v = g[j] / T(4);
            d0[2 * j] = v, d0[2 * j + 1] = v, d1[2 * j] = v, d1[2 * j + 1] = v;
          }
          if (p.w % 2) d0[p.w - 1] = d1[p.w - 1] = T(0);
        }
        if (p.h % 2) std::fill(dp + (p.h - 1) * p.w, dp + ipix, T(0));
      }
    });
    return;
  }
  const TapRange* tr = tap_ranges(p);
  const int threads = num_threads();
  T* rows = scratch<T>(checked_mul(p.ow, threads), 0);  // per thread: one row of dout / divisor
  parallel_for(p.planes, kPlaneGrain, threads, [&](i64 q0, i64 q1) {
    T* grow = rows + omp_get_thread_num() * p.ow;
    for (i64 q = q0; q < q1; ++q) {
      T* dp = dx + q * ipix;
      std::fill(dp, dp + ipix, T(0));
      for (i64 oh = 0; oh < p.oh; ++oh) {
        const T* g = dout + q * opix + oh * p.ow;
        for (i64 ow = 0; ow < p.ow; ++ow) grow[ow] = g[ow] / divisor<T>(p, window(p, oh, ow), count_include_pad);
        for (i64 ki = 0; ki < p.kh; ++ki) {
          const i64 ih = oh * p.sh - p.ph + ki;
          if (ih < 0 || ih >= p.h) continue;
          T* dr = dp + ih * p.w;
          for (i64 kj = 0; kj < p.kw; ++kj) {
            const i64 shift = kj - p.pw;
            if (p.sw == 1)
              for (i64 j = tr[kj].lo; j < tr[kj].hi; ++j) dr[j + shift] += grow[j];
            else
              for (i64 j = tr[kj].lo; j < tr[kj].hi; ++j) dr[j * p.sw + shift] += grow[j];
          }
        }
      }
    }
  });
}

#define FASTDL_INSTANTIATE(T)                                                        \
  template void max_pool2d_fwd<T>(T*, const T*, const Pool2dParams&);                \
  template void max_pool2d_bwd<T>(T*, const T*, const T*, const Pool2dParams&, bool); \
  template void avg_pool2d_fwd<T>(T*, const T*, const Pool2dParams&, bool);          \
  template void avg_pool2d_bwd<T>(T*, const T*, const Pool2dParams&, bool);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
