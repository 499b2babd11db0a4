// norm family kernels (contract: norm.h).
//
// Row norms: threads split rows in the forward pass. The backward pass also
// reduces across rows (dgamma, dbeta): rows are grouped into at most
// kBlocks fixed blocks (the grouping depends only on the shape), each block
// writes its own partial sums, and the partials are added in block order.
// batch_norm: threads split channels (blocks of kChannelBlock channels for
// (N, D) inputs); a channel's statistics are summed by one thread.
//
// Sums: Summer keeps 16 interleaved partial sums in T (the loop vectorises
// without reassociation flags) and moves them into a double every kFlush
// elements, so float32 statistics of long rows keep float64-like accuracy.
#include "norm.h"

#include <algorithm>
#include <cmath>

#include "../core/parallel.h"
#include "../core/scratch.h"
#include "reduce.h"

namespace fastdl::cpu {

namespace {

constexpr int kLanes = 16;
constexpr i64 kFlush = 1024;         // elements per T partial before it joins the double total
constexpr i64 kGrain = 1 << 15;      // elements a thread should at least get
constexpr i64 kBlocks = 64;          // row blocks of the row-norm backward reduction
constexpr i64 kChannelBlock = 64;    // channels per task in batch_norm on (N, D) inputs

// Sum of f(i) over calls to add(); the order depends only on the sequence of
// lengths passed to add(). K sums at once (f writes K values).
template <typename T, int K>
class Summer {
 public:
  // f(i, v) sets v[0..K) for element i of [0, n).
  template <typename F>
  void add(i64 n, const F& f) {
    i64 i = 0;
    while (i < n) {
      const i64 len = std::min(n - i, kFlush - pending_), end = i + len;
      i64 j = i;
      for (; j + kLanes <= end; j += kLanes)
        for (int l = 0; l < kLanes; ++l) {
          T v[K];
          f(j + l, v);
          for (int k = 0; k < K; ++k) lane_[k][l] += v[k];
        }
      for (int l = 0; j < end; ++j, ++l) {
        T v[K];
        f(j, v);
        for (int k = 0; k < K; ++k) lane_[k][l] += v[k];
      }
      pending_ += len;
      if (pending_ == kFlush) flush();
      i = end;
    }
  }

  double total(int k) {
    flush();
    return total_[k];
  }

 private:
  void flush() {
    for (int k = 0; k < K; ++k) {
      double s = 0;
      for (int l = 0; l < kLanes; ++l) s += double(lane_[k][l]), lane_[k][l] = T(0);
      total_[k] += s;
    }
    pending_ = 0;
  }

  T lane_[K][kLanes] = {};
  double total_[K] = {};
  i64 pending_ = 0;
};

// Threads for a loop over `items` items of `size` elements each.
inline i64 grain_for(i64 size) { return std::max<i64>(1, kGrain / std::max<i64>(size, 1)); }

// y (L,) = (x - m) * rs * gamma + beta for one row of cg channels of s elements.
template <typename T>
void normalize_row(T* y, const T* x, T m, T rs, const T* gamma, const T* beta, i64 cg, i64 s) {
  if (s == 1) {  // gamma per element (layer_norm)
    for (i64 i = 0; i < cg; ++i) {
      T v = (x[i] - m) * rs;
      if (gamma) v *= gamma[i];
      if (beta) v += beta[i];
      y[i] = v;
    }
    return;
  }
  for (i64 c = 0; c < cg; ++c) {
    const T a = gamma ? rs * gamma[c] : rs, b = beta ? beta[c] : T(0);
    const T* xc = x + c * s;
    T* yc = y + c * s;
    for (i64 j = 0; j < s; ++j) yc[j] = (xc[j] - m) * a + b;
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// row norms

template <typename T>
void row_norm_fwd(T* y, T* mean, T* rstd, const T* x, const T* gamma, const T* beta,
                  const RowNormParams& p) {
  const i64 L = p.cg * p.s;
  parallel_for(p.rows, grain_for(L), [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; ++r) {
      const T* xr = x + r * L;
      Summer<T, 1> sum;
      sum.add(L, [&](i64 i, T* v) { v[0] = xr[i]; });
      const T m = T(sum.total(0) / double(L));
      Summer<T, 1> dev;
      dev.add(L, [&](i64 i, T* v) {
        const T d = xr[i] - m;
        v[0] = d * d;
      });
      const T rs = T(1 / std::sqrt(dev.total(0) / double(L) + p.eps));
      mean[r] = m, rstd[r] = rs;
      const i64 ch0 = (r % p.groups) * p.cg;
      normalize_row(y + r * L, xr, m, rs, gamma ? gamma + ch0 : nullptr, beta ? beta + ch0 : nullptr,
                    p.cg, p.s);
    }
  });
}

template <typename T>
void row_norm_bwd(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                  const T* rstd, const T* gamma, const RowNormParams& p) {
  const i64 L = p.cg * p.s, C = p.groups * p.cg;
  const i64 rows_per_block = std::max<i64>(1, ceil_div(p.rows, kBlocks));
  const i64 blocks = ceil_div(p.rows, rows_per_block);
  const bool partials = dgamma || dbeta;
  // partial sums of block b: dgamma at ws[b * 2C], dbeta at ws[b * 2C + C]
  T* ws = partials ? scratch<T>(checked_mul(std::max<i64>(blocks, 1), 2 * C), 0) : nullptr;

  parallel_for(blocks, grain_for(rows_per_block * L), [&](i64 b0, i64 b1) {
    for (i64 b = b0; b < b1; ++b) {
      T* pg = partials ? ws + b * 2 * C : nullptr;
      T* pb = partials ? pg + C : nullptr;
      if (partials) std::fill(pg, pg + 2 * C, T(0));
      const i64 r1 = std::min(p.rows, (b + 1) * rows_per_block);
      for (i64 r = b * rows_per_block; r < r1; ++r) {
        const T *xr = x + r * L, *dyr = dy + r * L;
        T* dxr = dx + r * L;
        const T m = mean[r], rs = rstd[r];
        const i64 ch0 = (r % p.groups) * p.cg;
        const T* g = gamma ? gamma + ch0 : nullptr;
        double s1 = 0, s2 = 0;  // sum(dy * gamma), sum(dy * gamma * xhat) over the row
        if (p.s == 1) {
          Summer<T, 2> sum;
          sum.add(L, [&](i64 i, T* v) {
            const T d = g ? dyr[i] * g[i] : dyr[i];
            v[0] = d, v[1] = d * ((xr[i] - m) * rs);
          });
          s1 = sum.total(0), s2 = sum.total(1);
          if (partials)
            for (i64 i = 0; i < L; ++i) {
              pg[ch0 + i] += dyr[i] * ((xr[i] - m) * rs);
              pb[ch0 + i] += dyr[i];
            }
        } else {
          for (i64 c = 0; c < p.cg; ++c) {
            const T *xc = xr + c * p.s, *dyc = dyr + c * p.s;
            Summer<T, 2> sum;
            sum.add(p.s, [&](i64 j, T* v) { v[0] = dyc[j], v[1] = dyc[j] * ((xc[j] - m) * rs); });
            const double sdy = sum.total(0), sdyx = sum.total(1), gc = g ? double(g[c]) : 1.0;
            s1 += gc * sdy, s2 += gc * sdyx;
            if (partials) pg[ch0 + c] += T(sdyx), pb[ch0 + c] += T(sdy);
          }
        }
        const T c1 = T(s1 / double(L)), c2 = T(s2 / double(L));
        if (p.s == 1) {
          for (i64 i = 0; i < L; ++i) {
            const T d = g ? dyr[i] * g[i] : dyr[i];
            dxr[i] = rs * (d - c1 - ((xr[i] - m) * rs) * c2);
          }
        } else {
          for (i64 c = 0; c < p.cg; ++c) {
            const T gc = g ? g[c] : T(1);
            const T *xc = xr + c * p.s, *dyc = dyr + c * p.s;
            T* dxc = dxr + c * p.s;
            for (i64 j = 0; j < p.s; ++j) dxc[j] = rs * (gc * dyc[j] - c1 - ((xc[j] - m) * rs) * c2);
          }
        }
      }
    }
  });
  if (dgamma) sum_rows(dgamma, ws, blocks, C, 2 * C);
  if (dbeta) sum_rows(dbeta, ws + C, blocks, C, 2 * C);
}

// ---------------------------------------------------------------------------
// batch_norm

namespace {

// Batch statistics -> mean, rstd of channel j, and the running-stat update.
template <typename T>
void bn_finish(T* mean, T* rstd, T* running_mean, T* running_var, i64 j, T m, double var,
               const BatchNormParams& p) {
  const i64 count = p.n * p.s;
  mean[j] = m;
  rstd[j] = T(1 / std::sqrt(var + p.eps));
  if (running_mean && count > 0) {
    const double mom = p.momentum;
    running_mean[j] = T((1 - mom) * double(running_mean[j]) + mom * double(m));
    running_var[j] =
        T((1 - mom) * double(running_var[j]) + mom * var * double(count) / double(count - 1));
  }
}

}  // namespace

template <typename T>
void batch_norm_fwd(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x,
                    const T* gamma, const T* beta, const BatchNormParams& p) {
  const i64 n = p.n, C = p.c, S = p.s, count = n * S, cs = C * S;
  if (S > 1) {  // (N, C, spatial): one channel per task, rows of S contiguous elements
    parallel_for(C, grain_for(count), [&](i64 c0, i64 c1) {
      for (i64 j = c0; j < c1; ++j) {
        const T* xj = x + j * S;
        if (p.training) {
          Summer<T, 1> sum;
          for (i64 i = 0; i < n; ++i) sum.add(S, [&](i64 k, T* v) { v[0] = xj[i * cs + k]; });
          const T m = T(sum.total(0) / double(count));
          Summer<T, 1> dev;
          for (i64 i = 0; i < n; ++i)
            dev.add(S, [&](i64 k, T* v) {
              const T d = xj[i * cs + k] - m;
              v[0] = d * d;
            });
          bn_finish(mean, rstd, running_mean, running_var, j, m, dev.total(0) / double(count), p);
        } else {
          mean[j] = running_mean[j];
          rstd[j] = T(1 / std::sqrt(double(running_var[j]) + p.eps));
        }
        const T m = mean[j], a = gamma ? rstd[j] * gamma[j] : rstd[j], b = beta ? beta[j] : T(0);
        for (i64 i = 0; i < n; ++i) {
          const T* xi = xj + i * cs;
          T* yi = y + i * cs + j * S;
          for (i64 k = 0; k < S; ++k) yi[k] = (xi[k] - m) * a + b;
        }
      }
    });
    return;
  }
  // (N, D): blocks of channels, rows of the block read contiguously; each
  // channel sums its column in row order, in double.
  const i64 nblocks = ceil_div(C, kChannelBlock);
  parallel_for(nblocks, grain_for(kChannelBlock * n), [&](i64 b0, i64 b1) {
    for (i64 b = b0; b < b1; ++b) {
      const i64 j0 = b * kChannelBlock, w = std::min(kChannelBlock, C - j0);
      T a[kChannelBlock], sh[kChannelBlock];
      if (p.training) {
        double acc[kChannelBlock] = {};
        for (i64 i = 0; i < n; ++i)
          for (i64 k = 0; k < w; ++k) acc[k] += double(x[i * C + j0 + k]);
        T m[kChannelBlock];
        for (i64 k = 0; k < w; ++k) m[k] = T(acc[k] / double(count)), acc[k] = 0;
        for (i64 i = 0; i < n; ++i)
          for (i64 k = 0; k < w; ++k) {
            const T d = x[i * C + j0 + k] - m[k];
            acc[k] += double(d * d);
          }
        for (i64 k = 0; k < w; ++k)
          bn_finish(mean, rstd, running_mean, running_var, j0 + k, m[k], acc[k] / double(count), p);
      } else {
        for (i64 k = 0; k < w; ++k) {
          mean[j0 + k] = running_mean[j0 + k];
          rstd[j0 + k] = T(1 / std::sqrt(double(running_var[j0 + k]) + p.eps));
        }
      }
      for (i64 k = 0; k < w; ++k) {
        a[k] = gamma ? rstd[j0 + k] * gamma[j0 + k] : rstd[j0 + k];
        sh[k] = beta ? beta[j0 + k] : T(0);
      }
      const T* m = mean + j0;
      for (i64 i = 0; i < n; ++i)
        for (i64 k = 0; k < w; ++k) y[i * C + j0 + k] = (x[i * C + j0 + k] - m[k]) * a[k] + sh[k];
    }
  });
}

template <typename T>
void batch_norm_bwd(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                    const T* rstd, const T* gamma, const BatchNormParams& p) {
  const i64 n = p.n, C = p.c, S = p.s, count = n * S, cs = C * S;
  // dx = gamma * rstd * (dy - [training] (sum(dy) + xhat * sum(dy * xhat)) / count)
  if (S > 1) {
    parallel_for(C, grain_for(count), [&](i64 c0, i64 c1) {
      for (i64 j = c0; j < c1; ++j) {
        const T m = mean[j], rs = rstd[j];
        const T *xj = x + j * S, *dyj = dy + j * S;
        Summer<T, 2> sum;
        for (i64 i = 0; i < n; ++i) {
          const T *xi = xj + i * cs, *dyi = dyj + i * cs;
          sum.add(S, [&](i64 k, T* v) { v[0] = dyi[k], v[1] = dyi[k] * ((xi[k] - m) * rs); });
        }
        const double sdy = sum.total(0), sdyx = sum.total(1);
        if (dgamma) dgamma[j] = T(sdyx);
        if (dbeta) dbeta[j] = T(sdy);
        const T a = gamma ? gamma[j] * rs : rs;
        const T c1 = p.training ? T(sdy / double(count)) : T(0);
        const T c2 = p.training ? T(sdyx / double(count)) : T(0);
        for (i64 i = 0; i < n; ++i) {
          const T *xi = xj + i * cs, *dyi = dyj + i * cs;
          T* dxi = dx + i * cs + j * S;
          for (i64 k = 0; k < S; ++k) dxi[k] = a * (dyi[k] - c1 - ((xi[k] - m) * rs) * c2);
        }
      }
    });
    return;
  }
  const i64 nblocks = ceil_div(C, kChannelBlock);
  parallel_for(nblocks, grain_for(kChannelBlock * n), [&](i64 b0, i64 b1) {
    for (i64 b = b0; b < b1; ++b) {
      const i64 j0 = b * kChannelBlock, w = std::min(kChannelBlock, C - j0);
      const T *m = mean + j0, *rs = rstd + j0;
      double sdy[kChannelBlock] = {}, sdyx[kChannelBlock] = {};
      for (i64 i = 0; i < n; ++i)
        for (i64 k = 0; k < w; ++k) {
          const T d = dy[i * C + j0 + k];
          sdy[k] += double(d);
          sdyx[k] += double(d * ((x[i * C + j0 + k] - m[k]) * rs[k]));
        }
      T a[kChannelBlock], c1[kChannelBlock], c2[kChannelBlock];
      for (i64 k = 0; k < w; ++k) {
        if (dgamma) dgamma[j0 + k] = T(sdyx[k]);
        if (dbeta) dbeta[j0 + k] = T(sdy[k]);
        a[k] = gamma ? gamma[j0 + k] * rs[k] : rs[k];
        c1[k] = p.training ? T(sdy[k] / double(count)) : T(0);
        c2[k] = p.training ? T(sdyx[k] / double(count)) : T(0);
      }
      for (i64 i = 0; i < n; ++i)
        for (i64 k = 0; k < w; ++k) {
          const i64 e = i * C + j0 + k;
          dx[e] = a[k] * (dy[e] - c1[k] - ((x[e] - m[k]) * rs[k]) * c2[k]);
        }
    }
  });
}

#define FASTDL_INSTANTIATE(T)                                                                    \
  template void row_norm_fwd<T>(T*, T*, T*, const T*, const T*, const T*, const RowNormParams&); \
  template void row_norm_bwd<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,    \
                                const RowNormParams&);                                           \
  template void batch_norm_fwd<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*,              \
                                  const BatchNormParams&);                                       \
  template void batch_norm_bwd<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,  \
                                  const BatchNormParams&);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
