// embed family kernels (contract: embed.h).
#include "embed.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../core/parallel.h"
#include "../core/scratch.h"

namespace fastdl::cpu {

namespace {
constexpr i64 kGrain = 1 << 14;  // elements per thread at least
}

template <typename T>
void embedding_fwd(T* out, const T* weight, const i64* indices, i64 n, i64 d) {
  parallel_for(n, std::max<i64>(1, kGrain / std::max<i64>(d, 1)), [&](i64 i0, i64 i1) {
    for (i64 i = i0; i < i1; ++i)
      std::memcpy(out + i * d, weight + indices[i] * d, sizeof(T) * static_cast<size_t>(d));
  });
}

template <typename T>
void embedding_bwd(T* dweight, const T* dout, const i64* indices, i64 n, i64 v, i64 d) {
  // Rows per thread: enough that scanning all n indices is small next to the rows' work.
  const i64 grain = std::max<i64>(1, (kGrain + n) / std::max<i64>(d, 1));
  parallel_for(v, grain, [&](i64 r0, i64 r1) {
    std::fill(dweight + r0 * d, dweight + r1 * d, T(0));
    for (i64 i = 0; i < n; ++i) {
      const i64 r = indices[i];
      if (r < r0 || r >= r1) continue;
      T* __restrict dst = dweight + r * d;
      const T* __restrict src = dout + i * d;
      for (i64 j = 0; j < d; ++j) dst[j] += src[j];
    }
  });
}

template <typename T>
void positional_encoding(T* pe, i64 length, i64 d_model) {
  // w (d_model,): the frequency of column j, 10000^(-(j - j % 2) / d_model)
  double* w = scratch<double>(std::max<i64>(d_model, 1), 0);
  const double log_base = std::log(10000.0);
  for (i64 j = 0; j < d_model; ++j) w[j] = std::exp(-double(j - (j & 1)) / double(d_model) * log_base);
  parallel_for(length, std::max<i64>(1, kGrain / std::max<i64>(d_model, 1)), [&](i64 p0, i64 p1) {
    for (i64 pos = p0; pos < p1; ++pos)
      for (i64 j = 0; j < d_model; ++j) {
        const double a = double(pos) * w[j];
        pe[pos * d_model + j] = T((j & 1) ? std::cos(a) : std::sin(a));
      }
  });
}

#define FASTDL_INSTANTIATE(T)                                                   \
  template void embedding_fwd<T>(T*, const T*, const i64*, i64, i64);           \
  template void embedding_bwd<T>(T*, const T*, const i64*, i64, i64, i64);      \
  template void positional_encoding<T>(T*, i64, i64);
FASTDL_INSTANTIATE(float)
FASTDL_INSTANTIATE(double)
#undef FASTDL_INSTANTIATE

}  // namespace fastdl::cpu
