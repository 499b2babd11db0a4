// loss family entries (see loss.h): ISA choice, label checks, thread split
// and the fixed-order reductions; the portable (Scalar<T>) kernels and the
// hinge loss are defined here.
#include "loss.h"

#include "../core/isa.h"
#include "../core/parallel.h"
#include "../core/scratch.h"
#include "loss_simd.h"

namespace fastdl::cpu {

namespace generic {
FASTDL_LOSS_DEFINE(Scalar<float>, Scalar<double>)
}  // namespace generic

namespace {

constexpr i64 kBlock = 4096;     // elements per partial sum of a pointwise loss
constexpr i64 kRowBlock = 1024;  // positions per partial sum of a per-position loss
constexpr i64 kGrain = 1 << 14;  // values per thread at least
constexpr i64 kStrip = 64;       // columns per task when s > 1

template <typename T>
struct LossIsa {
  double (*fwd)(T*, const T*, const T*, i64, Loss, i64*);
  void (*bwd)(T*, T*, const T*, const T*, const T*, T, i64, Loss);
  void (*ce_fwd_rows)(T*, T*, const T*, const std::int64_t*, i64, i64, i64, std::int64_t);
  void (*ce_fwd_cols)(T*, T*, const T*, const std::int64_t*, i64, i64, i64, i64, i64, std::int64_t);
  void (*ce_bwd_rows)(T*, const T*, const T*, const std::int64_t*, const T*, T, i64, i64, i64, std::int64_t);
  void (*ce_bwd_cols)(T*, const T*, const T*, const std::int64_t*, const T*, T, i64, i64, i64, i64, i64,
                      std::int64_t);
};

#define FASTDL_LOSS_ISA_ROW(ns)                                                                          \
  LossIsa<T> {                                                                                           \
    ns::pointwise_loss_fwd_range<T>, ns::pointwise_loss_bwd_range<T>, ns::ce_fwd_rows<T>, ns::ce_fwd_cols<T>, \
        ns::ce_bwd_rows<T>, ns::ce_bwd_cols<T>                                                           \
  }

template <typename T>
LossIsa<T> loss_isa() {
  switch (isa_active()) {
    case Isa::avx512: return FASTDL_LOSS_ISA_ROW(avx512);
    case Isa::avx2: return FASTDL_LOSS_ISA_ROW(avx2);
    default: return FASTDL_LOSS_ISA_ROW(generic);
  }
}
#undef FASTDL_LOSS_ISA_ROW

// Sum of v (n,) in fixed blocks of kRowBlock, block sums in block order (double).
template <typename T>
double sum_positions(const T* v, i64 n) {
  const i64 blocks = ceil_div(n, kRowBlock);
  double* part = scratch<double>(blocks + 1, 1);
  parallel_for(blocks, ceil_div(kGrain, kRowBlock), [&](i64 b0, i64 b1) {
    for (i64 b = b0; b < b1; ++b) {
      double s = 0;
      const i64 e = (b + 1) * kRowBlock < n ? (b + 1) * kRowBlock : n;
      for (i64 i = b * kRowBlock; i < e; ++i) s += double(v[i]);
      part[b] = s;
    }
  });
  double total = 0;
  for (i64 b = 0; b < blocks; ++b) total += part[b];
  return total;
}

// Labels outside [0, c) other than ignore; *count = labels other than ignore.
i64 check_labels(const std::int64_t* labels, i64 n, i64 c, std::int64_t ignore, i64* count) {
  i64 bad = 0, valid = 0;
  for (i64 i = 0; i < n; ++i) {
    const std::int64_t l = labels[i];
    if (l == ignore) continue;
    ++valid;
    bad += (l < 0 || l >= c);
  }
  *count = valid;
  return bad;
}

// rows(r0, r1) over n rows when s == 1, else cols(i, j0, j1) over (slab, strip) tasks.
template <typename R, typename C>
void split_positions(i64 n, i64 c, i64 s, const R& rows, const C& cols) {
  if (s == 1) {
    parallel_for(n, ceil_div(kGrain, c > 0 ? c : 1), rows);
    return;
  }
  const i64 strips = ceil_div(s, kStrip);
  parallel_for(n * strips, ceil_div(kGrain, (c > 0 ? c : 1) * kStrip), [&](i64 t0, i64 t1) {
    for (i64 t = t0; t < t1; ++t) {
      const i64 i = t / strips, j0 = (t % strips) * kStrip;
      cols(i, j0, j0 + kStrip < s ? j0 + kStrip : s);
    }
  });
}

}  // namespace

template <typename T>
double pointwise_loss_fwd(T* loss, const T* a, const T* b, i64 n, Loss kind, i64* bad) {
  const auto fwd = loss_isa<T>().fwd;
  const i64 blocks = ceil_div(n, kBlock);
  double* part = scratch<double>(blocks + 1, 1);
  i64* nbad = scratch<i64>(blocks + 1, 2);
  parallel_for(blocks, kGrain / kBlock, [&](i64 b0, i64 b1) {
    for (i64 k = b0; k < b1; ++k) {
      const i64 i = k * kBlock, len = n - i < kBlock ? n - i : kBlock;
      nbad[k] = 0;
      part[k] = fwd(loss ? loss + i : nullptr, a + i, b + i, len, kind, &nbad[k]);
    }
  });
  double total = 0;
  *bad = 0;
  for (i64 k = 0; k < blocks; ++k) total += part[k], *bad += nbad[k];
  return total;
}

template <typename T>
void pointwise_loss_bwd(T* da, T* db, const T* a, const T* b, const T* dout, T scale, i64 n, Loss kind) {
  const auto bwd = loss_isa<T>().bwd;
  parallel_for(ceil_div(n, kBlock), kGrain / kBlock, [&](i64 b0, i64 b1) {
    const i64 i = b0 * kBlock, e = b1 * kBlock < n ? b1 * kBlock : n;
    bwd(da + i, db ? db + i : nullptr, a + i, b + i, dout ? dout + i : nullptr, scale, e - i, kind);
  });
}

template <typename T>
double cross_entropy_fwd(T* loss, T* lse, const T* x, const std::int64_t* labels, i64 n, i64 c, i64 s,
                         std::int64_t ignore, i64* count, i64* bad) {
  *bad = check_labels(labels, n * s, c, ignore, count);
  if (*bad) return 0;
  const LossIsa<T> k = loss_isa<T>();
  split_positions(
      n, c, s, [&](i64 r0, i64 r1) { k.ce_fwd_rows(loss, lse, x, labels, r0, r1, c, ignore); },
      [&](i64 i, i64 j0, i64 j1) { k.ce_fwd_cols(loss, lse, x, labels, i, j0, j1, c, s, ignore); });
  return sum_positions(loss, n * s);
}

template <typename T>
void cross_entropy_bwd(T* dx, const T* x, const T* lse, const std::int64_t* labels, const T* dout, T scale, i64 n,
                       i64 c, i64 s, std::int64_t ignore) {
  const LossIsa<T> k = loss_isa<T>();
  split_positions(
      n, c, s, [&](i64 r0, i64 r1) { k.ce_bwd_rows(dx, x, lse, labels, dout, scale, r0, r1, c, ignore); },
      [&](i64 i, i64 j0, i64 j1) { k.ce_bwd_cols(dx, x, lse, labels, dout, scale, i, j0, j1, c, s, ignore); });
}

template <typename T>
double hinge_fwd(T* loss, const T* x, const std::int64_t* labels, i64 n, i64 c, T margin, i64* bad) {
  i64 valid;
  *bad = check_labels(labels, n, c, std::numeric_limits<std::int64_t>::min(), &valid);
  if (*bad) return 0;
  parallel_for(n, ceil_div(kGrain, c > 0 ? c : 1), [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; ++r) {
      const T* xr = x + r * c;
      const std::int64_t y = labels[r];
      T acc = 0;
      for (i64 j = 0; j < c; ++j) {
        const T m = margin - xr[y] + xr[j];
        if (j != y && !(m <= 0)) acc += m;  // NaN passes into the sum
      }
      loss[r] = acc / T(c);
    }
  });
  return sum_positions(loss, n);
}

template <typename T>
void hinge_bwd(T* dx, const T* x, const std::int64_t* labels, const T* dout, T scale, i64 n, i64 c, T margin) {
  parallel_for(n, ceil_div(kGrain, c > 0 ? c : 1), [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; ++r) {
      const T *xr = x + r * c, g = (dout ? scale * dout[r] : scale) / T(c);
      T* dr = dx + r * c;
      const std::int64_t y = labels[r];
      T count = 0;
      for (i64 j = 0; j < c; ++j) {
        const T m = margin - xr[y] + xr[j];
        const bool active = j != y && m > 0;
        dr[j] = active ? g : T(0);
        count += active;
      }
      dr[y] = -count * g;
    }
  });
}

#define FASTDL_INSTANTIATE(T)                                                                                    \
  template double pointwise_loss_fwd<T>(T*, const T*, const T*, i64, Loss, i64*);                                \
  template void pointwise_loss_bwd<T>(T*, T*, const T*, const T*, const T*, T, i64, Loss);                       \
  template double cross_entropy_fwd<T>(T*, T*, const T*, const std::int64_t*, i64, i64, i64, std::int64_t, i64*, \
                                       i64*);                                                                    \
  template void cross_entropy_bwd<T>(T*, const T*, const T*, const std::int64_t*, const T*, T, i64, i64, i64,     \
                                     std::int64_t);                                                              \
  template double hinge_fwd<T>(T*, const T*, const std::int64_t*, i64, i64, T, i64*);                            \
  template void hinge_bwd<T>(T*, const T*, const std::int64_t*, const T*, T, i64, i64, T);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
