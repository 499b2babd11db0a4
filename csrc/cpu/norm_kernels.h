// The norm kernel bodies (contract: norm.h), written once and compiled once
// per ISA: norm.cpp (generic), norm_avx2.cpp and norm_avx512.cpp include this
// file inside their own anonymous namespace (Note [ISA files] in core/isa.h)
// after defining kLaneBytes, the size of the interleaved partial sums: four
// vector registers (64 bytes for SSE2, 128 for AVX2, 256 for AVX-512), so that
// four independent add chains hide the add latency. The compiler vectorises
// the lane loops with the file's flags; no intrinsics.
//
// Sums: Summer keeps kLaneBytes / sizeof(T) partial sums in T and, every kFlush elements,
// folds them pairwise into one value that joins a double total, so float32
// statistics of long rows keep double-like accuracy. The order of every sum
// depends only on the shape and the lane count: results are bit-identical for any
// thread count, and differ between ISAs only by rounding.
//
// Row norms: threads split rows in the forward pass. The backward pass also
// reduces across rows (dgamma, dbeta): rows are grouped into at most kBlocks
// blocks of a size fixed by the shape, each block writes its own partial
// sums, and the partials are added in block order (sum_rows).
// batch_norm: threads split channels (blocks of kChannelBlock channels for
// (N, D) inputs, where each channel sums its column in row order in double).

constexpr i64 kFlush = 1024;         // elements per T partial before it joins the double total
constexpr i64 kGrain = 1 << 15;      // elements a thread should at least get
constexpr i64 kBlocks = 64;          // row blocks of the row-norm backward reduction
constexpr i64 kChannelBlock = 2048;  // most channels per task in batch_norm on (N, D) inputs

// K running sums of f over calls to add(); see the file comment for the order.
template <typename T, int K>
class Summer {
  static constexpr int kLanes = kLaneBytes / int(sizeof(T));

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
    if (pending_) flush();
    return total_[k];
  }

 private:
  void flush() {
    for (int k = 0; k < K; ++k) {
      for (int w = kLanes / 2; w > 0; w /= 2)
        for (int l = 0; l < w; ++l) lane_[k][l] += lane_[k][l + w];
      total_[k] += double(lane_[k][0]);
      for (int l = 0; l < kLanes; ++l) lane_[k][l] = T(0);
    }
    pending_ = 0;
  }

  alignas(64) T lane_[K][kLanes] = {};
  double total_[K] = {};
  i64 pending_ = 0;
};

// Rows per task so that a task holds at least kGrain elements.
inline i64 grain_for(i64 size) { return std::max<i64>(1, kGrain / std::max<i64>(size, 1)); }

// mean and 1 / sqrt(var + eps) of x (n,), two passes (the second reads cache).
template <typename T>
void row_stats(T* mean, T* rstd, const T* x, i64 n, double eps) {
  Summer<T, 1> sum;
  sum.add(n, [&](i64 i, T* v) { v[0] = x[i]; });
  const T m = T(sum.total(0) / double(n));
  Summer<T, 1> dev;
  dev.add(n, [&](i64 i, T* v) {
    const T d = x[i] - m;
    v[0] = d * d;
  });
  *mean = m;
  *rstd = T(1 / std::sqrt(dev.total(0) / double(n) + eps));
}

// n values at p + j for j in [j0, j0 + len), prefetched into L1 one line at a time.
template <typename T>
void prefetch_run(const T* p, i64 j0, i64 len) {
  for (i64 j = j0; j < j0 + len; j += kLineBytes / i64(sizeof(T))) __builtin_prefetch(p + j, 0, 3);
}

// y (n,) = (x - m) * a + b over n contiguous elements; stream: streaming
// stores (stream.h). next (n,) or null: prefetched at the offsets written.
template <typename T>
void scale_shift(T* __restrict y, const T* __restrict x, T m, T a, T b, i64 n, bool stream,
                 const T* next = nullptr) {
  write_out(y, n, stream, [&](T* __restrict o, i64 i0, i64 len) {
    if (next) prefetch_run(next, i0, len);
    const T* __restrict xi = x + i0;
    for (i64 k = 0; k < len; ++k) o[k] = (xi[k] - m) * a + b;
  });
}

// y (L,) = (x - m) * rs * gamma + beta for one row of cg channels of s elements.
// next (L,) or null: the next row, prefetched while y is written (s > 1).
template <typename T>
void normalize_row(T* __restrict y, const T* __restrict x, T m, T rs, const T* __restrict gamma,
                   const T* __restrict beta, i64 cg, i64 s, bool stream, const T* next = nullptr) {
  if (s == 1) {  // gamma per element (layer_norm)
    write_out(y, cg, stream, [&](T* __restrict o, i64 i0, i64 n) {
      const T* __restrict xi = x + i0;
      if (gamma && beta) {
        const T *__restrict g = gamma + i0, *__restrict b = beta + i0;
        for (i64 i = 0; i < n; ++i) o[i] = (xi[i] - m) * rs * g[i] + b[i];
      } else {
        for (i64 i = 0; i < n; ++i) {
          T v = (xi[i] - m) * rs;
          if (gamma) v *= gamma[i0 + i];
          if (beta) v += beta[i0 + i];
          o[i] = v;
        }
      }
    });
    return;
  }
  for (i64 c = 0; c < cg; ++c) {
    const T a = gamma ? rs * gamma[c] : rs, b = beta ? beta[c] : T(0);
    scale_shift(y + c * s, x + c * s, m, a, b, s, stream, next ? next + c * s : nullptr);
  }
}

template <typename T>
void row_norm_fwd_impl(T* y, T* mean, T* rstd, const T* x, const T* gamma, const T* beta,
                       const RowNormParams& p) {
  const i64 L = p.cg * p.s;
  const bool stream = stream_output<T>(p.rows * L);
  // Short rows (s == 1) stream in blocks of rows, one run of >= kStreamMinRun values.
  const i64 block = stream && p.s == 1 && L >= 64 && L < kStreamMinRun ? ceil_div(kStreamMinRun, L) : 1;
  parallel_for(p.rows, grain_for(L), [&](i64 r0, i64 r1) {
    for (i64 rb = r0; rb < r1; rb += block) {
      const i64 re = std::min(r1, rb + block);
      for (i64 r = rb; r < re; ++r) row_stats(mean + r, rstd + r, x + r * L, L, p.eps);
      if (block == 1) {
        // Channel rows (s > 1): the statistics read the row from memory, then
        // it stays in L1 and memory would idle while y is written, so that
        // pass prefetches the next row (group_norm (64, 64, 32, 32) forward
        // 0.68 ms instead of 0.80 at one thread, 0.336 vs 0.350 at two).
        const i64 ch0 = (rb % p.groups) * p.cg;
        normalize_row(y + rb * L, x + rb * L, mean[rb], rstd[rb], gamma ? gamma + ch0 : nullptr,
                      beta ? beta + ch0 : nullptr, p.cg, p.s, stream,
                      p.s > 1 && rb + 1 < r1 ? x + (rb + 1) * L : nullptr);
        continue;
      }
      write_out(y + rb * L, (re - rb) * L, true, [&](T* o, i64 i0, i64 len) {
        for (i64 i = i0; i < i0 + len;) {  // row segments
          const i64 r = rb + i / L, j = i % L, seg = std::min(L - j, i0 + len - i), ch = (r % p.groups) * p.cg + j;
          normalize_row(o + (i - i0), x + r * L + j, mean[r], rstd[r], gamma ? gamma + ch : nullptr,
                        beta ? beta + ch : nullptr, seg, i64{1}, false);
          i += seg;
        }
      });
    }
    if (stream) stream_fence();
  });
}

// Backward of one row with gamma per element (s == 1): returns
// s = (sum(dy * g), sum(dy * g * xhat)) and adds dy * xhat to pg, dy to pb.
template <typename T, bool HAS_GAMMA>
void element_row_sums(double* s, T* __restrict pg, T* __restrict pb, const T* __restrict dy,
                      const T* __restrict x, const T* __restrict g, T m, T rs, i64 n) {
  Summer<T, 2> sum;
  sum.add(n, [&](i64 i, T* v) {
    const T xh = (x[i] - m) * rs, d = dy[i], dg = HAS_GAMMA ? d * g[i] : d;
    pg[i] += d * xh;
    pb[i] += d;
    v[0] = dg, v[1] = dg * xh;
  });
  s[0] = sum.total(0), s[1] = sum.total(1);
}

// dx (n,) = rs * (dy * g - c1 - xhat * c2) with gamma per element (g null: 1).
template <typename T>
void element_row_dx(T* __restrict dx, const T* __restrict dy, const T* __restrict x,
                    const T* __restrict g, T m, T rs, T c1, T c2, i64 n, bool stream) {
  write_out(dx, n, stream, [&](T* __restrict o, i64 i0, i64 len) {
    const T *__restrict dyi = dy + i0, *__restrict xi = x + i0;
    if (g) {
      const T* __restrict gi = g + i0;
      for (i64 i = 0; i < len; ++i) o[i] = rs * (dyi[i] * gi[i] - c1 - ((xi[i] - m) * rs) * c2);
    } else {
      for (i64 i = 0; i < len; ++i) o[i] = rs * (dyi[i] - c1 - ((xi[i] - m) * rs) * c2);
    }
  });
}

// (sum(dy), sum(dy * xhat)) over n contiguous elements, added to `sum`.
template <typename T>
void channel_sums(Summer<T, 2>& sum, const T* __restrict dy, const T* __restrict x, T m, T rs,
                  i64 n) {
  sum.add(n, [&](i64 j, T* v) { v[0] = dy[j], v[1] = dy[j] * ((x[j] - m) * rs); });
}

// dx (n,) = a * dy - rs * (c1 + xhat * c2) over n contiguous elements.
// next_x, next_dy (n,) or null: the elements that the following sums pass
// reads, prefetched into L1 at the offsets being written (see row_norm_bwd_impl).
template <typename T>
void channel_dx(T* __restrict dx, const T* __restrict dy, const T* __restrict x, T m, T rs, T a,
                T c1, T c2, i64 n, bool stream, const T* next_x = nullptr,
                const T* next_dy = nullptr) {
  write_out(dx, n, stream, [&](T* __restrict o, i64 j0, i64 len) {
    if (next_x) prefetch_run(next_x, j0, len), prefetch_run(next_dy, j0, len);
    const T *__restrict dyj = dy + j0, *__restrict xj = x + j0;
    for (i64 j = 0; j < len; ++j) o[j] = rs * (a * dyj[j] - c1 - ((xj[j] - m) * rs) * c2);
  });
}

template <typename T>
void row_norm_bwd_impl(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                       const T* rstd, const T* gamma, const RowNormParams& p) {
  const i64 L = p.cg * p.s, C = p.groups * p.cg;
  const i64 rows_per_block = std::max<i64>(1, ceil_div(p.rows, kBlocks));
  const i64 blocks = ceil_div(p.rows, rows_per_block);
  // partial sums of block b: dgamma at ws[b * 2C], dbeta at ws[b * 2C + C]; the
  // element (layer_norm) path always writes them, it is cheaper than a branch.
  const bool partials = dgamma || dbeta || p.s == 1;
  T* ws = partials ? scratch<T>(checked_mul(std::max<i64>(blocks, 1), 2 * C), 0) : nullptr;
  const bool stream = stream_output<T>(p.rows * L);
  // Channel rows (s > 1) on one thread: the dx pass of row r reads x and dy
  // from cache and only writes memory, so it prefetches row r + 1 (the next
  // sums pass) at the same offsets, keeping the read stream busy. On two
  // threads the prefetches were slower on some runs (docs/decisions.md).
  const bool prefetch = p.s > 1 && num_threads() == 1;

  parallel_for(blocks, grain_for(rows_per_block * L), [&](i64 b0, i64 b1) {
    for (i64 b = b0; b < b1; ++b) {
      T* pg = partials ? ws + b * 2 * C : nullptr;
      T* pb = partials ? pg + C : nullptr;
      if (partials) std::fill(pg, pg + 2 * C, T(0));
      const i64 r1 = std::min(p.rows, (b + 1) * rows_per_block);
      for (i64 r = b * rows_per_block; r < r1; ++r) {
        const T *xr = x + r * L, *dyr = dy + r * L;
        const T m = mean[r], rs = rstd[r];
        const i64 ch0 = (r % p.groups) * p.cg;
        const T* g = gamma ? gamma + ch0 : nullptr;
        double s[2] = {0, 0};  // sum(dy * gamma), sum(dy * gamma * xhat) over the row
        if (p.s == 1) {
          if (g)
            element_row_sums<T, true>(s, pg + ch0, pb + ch0, dyr, xr, g, m, rs, L);
          else
            element_row_sums<T, false>(s, pg + ch0, pb + ch0, dyr, xr, g, m, rs, L);
        } else {
          for (i64 c = 0; c < p.cg; ++c) {
            Summer<T, 2> sum;
            channel_sums(sum, dyr + c * p.s, xr + c * p.s, m, rs, p.s);
            const double sdy = sum.total(0), sdyx = sum.total(1), gc = g ? double(g[c]) : 1.0;
            s[0] += gc * sdy, s[1] += gc * sdyx;
            if (partials) pg[ch0 + c] += T(sdyx), pb[ch0 + c] += T(sdy);
          }
        }
        const T c1 = T(s[0] / double(L)), c2 = T(s[1] / double(L));
        if (p.s == 1) {
          element_row_dx(dx + r * L, dyr, xr, g, m, rs, c1, c2, L, stream);
        } else {
          const bool next = prefetch && (r + 1 < r1 || b + 1 < b1);  // row r + 1 is this thread's
          for (i64 c = 0; c < p.cg; ++c) {
            const i64 o = c * p.s;
            channel_dx(dx + r * L + o, dyr + o, xr + o, m, rs, g ? g[c] : T(1), c1, c2, p.s,
                       stream, next ? xr + L + o : nullptr, next ? dyr + L + o : nullptr);
          }
        }
      }
    }
    if (stream) stream_fence();
  });
  if (dgamma) sum_rows(dgamma, ws, blocks, C, 2 * C);
  if (dbeta) sum_rows(dbeta, ws + C, blocks, C, 2 * C);
}

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

constexpr i64 kRowChunk = 256;  // rows per first-level sum of batch_norm on (N, D)

// Channels per task of batch_norm on (N, D) inputs: wide rows stream best, so
// the channels are split evenly over the threads (at most kChannelBlock per
// task, whose accumulators stay in L1). Each channel still sums its column in
// row order, so the split does not change any result.
inline i64 bn_block_width(i64 n, i64 C) {
  const i64 tasks = std::max<i64>(1, std::min<i64>(num_threads(), ceil_div(n * C, kGrain)));
  return std::max<i64>(1, std::min(kChannelBlock, round_up(ceil_div(C, tasks), 16)));
}

// s1, s2 (w,) = sums over the n rows of d = x[i, k] - shift[k] and d^2, for the
// w channels at x (row stride C): in double, per chunk of kRowChunk rows, the
// chunks added in order (a two-level sum: its error grows like sqrt of the
// chunk and chunk counts, not of n).
template <typename T>
void bn_shifted_sums(double* s1, double* s2, const T* x, const double* shift, i64 n, i64 C, i64 w) {
  double c1[kChannelBlock], c2[kChannelBlock];
  for (i64 k = 0; k < w; ++k) s1[k] = 0, s2[k] = 0;
  for (i64 i0 = 0; i0 < n; i0 += kRowChunk) {
    for (i64 k = 0; k < w; ++k) c1[k] = 0, c2[k] = 0;
    for (i64 i = i0; i < std::min(n, i0 + kRowChunk); ++i) {
      const T* __restrict xi = x + i * C;
      for (i64 k = 0; k < w; ++k) {
        const double d = double(xi[k]) - shift[k];
        c1[k] += d, c2[k] += d * d;
      }
    }
    for (i64 k = 0; k < w; ++k) s1[k] += c1[k], s2[k] += c2[k];
  }
}

// Large batch_norm on (N, D) inputs: threads split (chunk, channel block)
// items of the sums, each writing its own partial sums, and rows in the
// output passes, so whole rows are read and written contiguously.
// Channels per item: all of them (up to kChannelBlock, whose accumulators
// stay in L1) when the chunks alone give every thread work, else the
// channels split evenly over the threads.
inline i64 bn_chunk_width(i64 n, i64 C) {
  return ceil_div(n, kRowChunk) >= num_threads() ? std::min(C, kChannelBlock) : bn_block_width(n, C);
}

// part (chunks, K, C): f(s, xi_row, k0, w) adds row i's contributions to the K
// running sums s[0 .. K) (each w wide) of channels k0 .. k0 + w; each chunk's
// sums start at zero. Returns sum (K, C): the chunk sums added in chunk order.
template <int K, typename F>
const double* bn_chunk_sums(i64 n, i64 C, const F& f) {
  const i64 chunks = ceil_div(n, kRowChunk), width = bn_chunk_width(n, C), blocks = ceil_div(C, width);
  double* part = scratch<double>(checked_mul(checked_mul(chunks + 1, K), C), 0);
  double* sum = part + chunks * K * C;
  parallel_for(chunks * blocks, 1, [&](i64 t0, i64 t1) {
    for (i64 t = t0; t < t1; ++t) {
      const i64 ch = t / blocks, k0 = t % blocks * width, w = std::min(width, C - k0);
      double* s = part + ch * K * C;
      for (int q = 0; q < K; ++q) std::fill(s + q * C + k0, s + q * C + k0 + w, 0.0);
      for (i64 i = ch * kRowChunk; i < std::min(n, (ch + 1) * kRowChunk); ++i) f(s, i, k0, w);
    }
  });
  std::fill(sum, sum + K * C, 0.0);
  for (i64 ch = 0; ch < chunks; ++ch)
    for (i64 e = 0; e < K * C; ++e) sum[e] += part[ch * K * C + e];
  return sum;
}

// y (n, C): row i's values j = f(i, j) for the rows split over the threads;
// each thread's rows are one contiguous run, streamed when y is large.
template <typename T, typename F>
void bn_rows_out(T* y, i64 n, i64 C, const F& f) {
  const bool stream = stream_output<T>(n * C);
  parallel_for(n, grain_for(C), [&](i64 r0, i64 r1) {
    write_out(y + r0 * C, (r1 - r0) * C, stream, [&](T* __restrict o, i64 i0, i64 len) {
      for (i64 e = i0; e < i0 + len;) {  // row segments: row r0 + e / C from channel e % C
        const i64 i = r0 + e / C, j0 = e % C, j1 = std::min(C, j0 + (i0 + len - e));
        f(o + (e - i0) - j0, i, j0, j1);
        e += j1 - j0;
      }
    });
    if (stream) stream_fence();
  });
}

// Statistics of the w channels from j0 of batch_norm on (N, D) (the method:
// batch_norm_fwd_impl): mean, rstd and the running stats, and the output
// pass's a = rstd * gamma, b = beta (w,). sums(shift, s1, s2) sets s1, s2 (w,)
// to the sums of x - shift and (x - shift)^2 over the rows; ws: 6w doubles.
template <typename T, typename Sums>
void bn_columns_stats(T* mean, T* rstd, T* running_mean, T* running_var, T* a, T* b, const T* x,
                      const T* gamma, const T* beta, i64 j0, i64 w, const BatchNormParams& p, double* ws,
                      const Sums& sums) {
  const double count = double(p.n * p.s);
  if (p.training && p.n > 0) {
    double *shift = ws, *s1 = ws + w, *s2 = ws + 2 * w, *shift2 = ws + 3 * w, *t1 = ws + 4 * w, *t2 = ws + 5 * w;
    for (i64 k = 0; k < w; ++k) shift[k] = double(x[j0 + k]);
    sums(shift, s1, s2);
    auto again = [&](i64 k) {  // (mean - K)^2 > 100 var, or NaN
      const double dm = s1[k] / count;
      return !(dm * dm <= 100 * (s2[k] / count - dm * dm));
    };
    bool any = false;
    for (i64 k = 0; k < w; ++k) any |= again(k);
    if (any) {  // the corrected two-pass, kept for the channels that need it
      for (i64 k = 0; k < w; ++k) shift2[k] = shift[k] + s1[k] / count;
      sums(shift2, t1, t2);
      for (i64 k = 0; k < w; ++k)
        if (again(k)) shift[k] = shift2[k], s1[k] = t1[k], s2[k] = t2[k];
    }
    for (i64 k = 0; k < w; ++k) {
      const double dm = s1[k] / count;
      bn_finish(mean, rstd, running_mean, running_var, j0 + k, T(shift[k] + dm), std::max(s2[k] / count - dm * dm, 0.0), p);
    }
  } else if (p.training) {  // empty batch: NaN statistics, running stats untouched
    for (i64 k = 0; k < w; ++k) bn_finish(mean, rstd, running_mean, running_var, j0 + k, T(NAN), double(NAN), p);
  } else {
    for (i64 k = 0; k < w; ++k) {
      mean[j0 + k] = running_mean[j0 + k];
      rstd[j0 + k] = T(1 / std::sqrt(double(running_var[j0 + k]) + p.eps));
    }
  }
  for (i64 k = 0; k < w; ++k) {
    a[k] = gamma ? rstd[j0 + k] * gamma[j0 + k] : rstd[j0 + k];
    b[k] = beta ? beta[j0 + k] : T(0);
  }
}

// dgamma, dbeta and the dx coefficients a, c1, c2 (w,) of the w channels from
// j0 of batch_norm on (N, D), from their sums sdy, sdyx (w,).
template <typename T>
void bn_columns_grad(T* dgamma, T* dbeta, T* a, T* c1, T* c2, const double* sdy, const double* sdyx,
                     const T* gamma, const T* rstd, i64 j0, i64 w, const BatchNormParams& p) {
  const double count = double(p.n * p.s);
  for (i64 k = 0; k < w; ++k) {
    if (dgamma) dgamma[j0 + k] = T(sdyx[k]);
    if (dbeta) dbeta[j0 + k] = T(sdy[k]);
    a[k] = gamma ? gamma[j0 + k] * rstd[j0 + k] : rstd[j0 + k];
    c1[k] = p.training ? T(sdy[k] / count) : T(0);
    c2[k] = p.training ? T(sdyx[k] / count) : T(0);
  }
}

template <typename T>
void batch_norm_fwd_impl(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x,
                         const T* gamma, const T* beta, const BatchNormParams& p) {
  const i64 n = p.n, C = p.c, S = p.s, count = n * S, cs = C * S;
  if (S > 1) {  // (N, C, spatial): one channel per task, rows of S contiguous elements
    const bool stream = stream_output<T>(n * cs);
    parallel_for(C, grain_for(count), [&](i64 c0, i64 c1) {
      for (i64 j = c0; j < c1; ++j) {
        const T* xj = x + j * S;
        if (p.training) {
          Summer<T, 1> sum;
          for (i64 i = 0; i < n; ++i) {
            const T* xi = xj + i * cs;
            sum.add(S, [&](i64 k, T* v) { v[0] = xi[k]; });
          }
          const T m = T(sum.total(0) / double(count));
          Summer<T, 1> dev;
          for (i64 i = 0; i < n; ++i) {
            const T* xi = xj + i * cs;
            dev.add(S, [&](i64 k, T* v) {
              const T d = xi[k] - m;
              v[0] = d * d;
            });
          }
          bn_finish(mean, rstd, running_mean, running_var, j, m, dev.total(0) / double(count), p);
        } else {
          mean[j] = running_mean[j];
          rstd[j] = T(1 / std::sqrt(double(running_var[j]) + p.eps));
        }
        const T a = gamma ? rstd[j] * gamma[j] : rstd[j], b = beta ? beta[j] : T(0);
        for (i64 i = 0; i < n; ++i) scale_shift(y + i * cs + j * S, xj + i * cs, mean[j], a, b, S, stream);
      }
      if (stream) stream_fence();
    });
    return;
  }
  // (N, D): the statistics take one pass of sums shifted by the first row
  // (K = x[0, j]): sum(x - K) and sum((x - K)^2), two-level sums in double
  // (kRowChunk). K is a sample, so usually |mean - K| is of the order of the
  // spread and var = E[(x - K)^2] - (mean - K)^2 loses nothing worth
  // mentioning; a channel whose (mean - K)^2 exceeds 100 var (an outlying
  // first row) sums again shifted by that mean: the corrected two-pass
  // algorithm, accurate to rounding. Inputs under kStreamMinBytes: threads
  // split blocks of channels (bn_block_width), each block's statistics, then
  // its output while its rows are still cached. Larger ones: whole rows in
  // every pass, the output streamed (bn_chunk_sums, bn_rows_out). Both paths
  // add the same terms in the same order.
  if (!stream_output<T>(n * C)) {
    const i64 width = bn_block_width(n, C), nblocks = ceil_div(C, width);
    parallel_for(nblocks, 1, [&](i64 b0, i64 b1) {
      for (i64 b = b0; b < b1; ++b) {
        const i64 j0 = b * width, w = std::min(width, C - j0);
        double ws[6 * kChannelBlock];
        T a[kChannelBlock], sh[kChannelBlock];
        bn_columns_stats(mean, rstd, running_mean, running_var, a, sh, x, gamma, beta, j0, w, p, ws,
                         [&](const double* shift, double* s1, double* s2) {
                           bn_shifted_sums(s1, s2, x + j0, shift, n, C, w);
                         });
        const T* m = mean + j0;
        for (i64 i = 0; i < n; ++i)
          for (i64 k = 0; k < w; ++k) y[i * C + j0 + k] = (x[i * C + j0 + k] - m[k]) * a[k] + sh[k];
      }
    });
    return;
  }
  std::vector<double> ws(6 * C);
  std::vector<T> a(C), sh(C);
  bn_columns_stats(mean, rstd, running_mean, running_var, a.data(), sh.data(), x, gamma, beta, i64{0}, C, p, ws.data(),
                   [&](const double* shift, double* s1, double* s2) {
                     const double* s = bn_chunk_sums<2>(n, C, [&](double* acc, i64 i, i64 k0, i64 w) {
                       const T* __restrict xi = x + i * C + k0;
                       const double* __restrict K = shift + k0;
                       double *__restrict a1 = acc + k0, *__restrict a2 = acc + C + k0;
                       for (i64 k = 0; k < w; ++k) {
                         const double d = double(xi[k]) - K[k];
                         a1[k] += d, a2[k] += d * d;
                       }
                     });
                     std::copy(s, s + C, s1);
                     std::copy(s + C, s + 2 * C, s2);
                   });
  const T *A = a.data(), *B = sh.data();
  bn_rows_out(y, n, C, [&](T* __restrict yi, i64 i, i64 j0, i64 j1) {
    const T* __restrict xi = x + i * C;
    for (i64 j = j0; j < j1; ++j) yi[j] = (xi[j] - mean[j]) * A[j] + B[j];
  });
}

template <typename T>
void batch_norm_bwd_impl(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                         const T* rstd, const T* gamma, const BatchNormParams& p) {
  const i64 n = p.n, C = p.c, S = p.s, count = n * S, cs = C * S;
  // dx = gamma * rstd * (dy - [training] (sum(dy) + xhat * sum(dy * xhat)) / count)
  if (S > 1) {
    const bool stream = stream_output<T>(n * cs);
    parallel_for(C, grain_for(count), [&](i64 c0, i64 c1) {
      for (i64 j = c0; j < c1; ++j) {
        const T m = mean[j], rs = rstd[j];
        Summer<T, 2> sum;
        for (i64 i = 0; i < n; ++i) channel_sums(sum, dy + i * cs + j * S, x + i * cs + j * S, m, rs, S);
        const double sdy = sum.total(0), sdyx = sum.total(1);
        if (dgamma) dgamma[j] = T(sdyx);
        if (dbeta) dbeta[j] = T(sdy);
        const T g = gamma ? gamma[j] : T(1);
        const T c1 = p.training ? T(g * sdy / double(count)) : T(0);
        const T c2 = p.training ? T(g * sdyx / double(count)) : T(0);
        for (i64 i = 0; i < n; ++i) {
          const i64 o = i * cs + j * S;
          channel_dx(dx + o, dy + o, x + o, m, rs, g, c1, c2, S, stream);
        }
      }
      if (stream) stream_fence();
    });
    return;
  }
  // (N, D): sum(dy) and sum(dy * xhat) per channel, then dx; two paths as in
  // the forward (the small one sums each column in one level, in double)
  if (!stream_output<T>(n * C)) {
    const i64 width = bn_block_width(n, C), nblocks = ceil_div(C, width);
    parallel_for(nblocks, 1, [&](i64 b0, i64 b1) {
      for (i64 b = b0; b < b1; ++b) {
        const i64 j0 = b * width, w = std::min(width, C - j0);
        const T *m = mean + j0, *rs = rstd + j0;
        double sdy[kChannelBlock] = {}, sdyx[kChannelBlock] = {};
        for (i64 i = 0; i < n; ++i)
          for (i64 k = 0; k < w; ++k) {
            const T d = dy[i * C + j0 + k];
            sdy[k] += double(d);
            sdyx[k] += double(d * ((x[i * C + j0 + k] - m[k]) * rs[k]));
          }
        T a[kChannelBlock], c1[kChannelBlock], c2[kChannelBlock];
        bn_columns_grad(dgamma, dbeta, a, c1, c2, sdy, sdyx, gamma, rstd, j0, w, p);
        for (i64 i = 0; i < n; ++i)
          for (i64 k = 0; k < w; ++k) {
            const i64 e = i * C + j0 + k;
            dx[e] = a[k] * (dy[e] - c1[k] - ((x[e] - m[k]) * rs[k]) * c2[k]);
          }
      }
    });
    return;
  }
  const double* s = bn_chunk_sums<2>(n, C, [&](double* acc, i64 i, i64 k0, i64 w) {
    const T *__restrict dyi = dy + i * C + k0, *__restrict xi = x + i * C + k0;
    const T *__restrict m = mean + k0, *__restrict rs = rstd + k0;
    double *__restrict sdy = acc + k0, *__restrict sdyx = acc + C + k0;
    for (i64 k = 0; k < w; ++k) {
      const T d = dyi[k];
      sdy[k] += double(d);
      sdyx[k] += double(d * ((xi[k] - m[k]) * rs[k]));
    }
  });
  std::vector<T> a(C), c1(C), c2(C);
  bn_columns_grad(dgamma, dbeta, a.data(), c1.data(), c2.data(), s, s + C, gamma, rstd, i64{0}, C, p);
  const T *A = a.data(), *C1 = c1.data(), *C2 = c2.data();
  bn_rows_out(dx, n, C, [&](T* __restrict dxi, i64 i, i64 j0, i64 j1) {
    const T *__restrict dyi = dy + i * C, *__restrict xi = x + i * C;
    for (i64 j = j0; j < j1; ++j) dxi[j] = A[j] * (dyi[j] - C1[j] - ((xi[j] - mean[j]) * rstd[j]) * C2[j]);
  });
}
