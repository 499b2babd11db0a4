// dropout family kernels (contract: dropout.h).
//
// Threads split the element range at multiples of 4 (one Philox block of four
// words); each thread generates the words of kBatch blocks at a time with
// philox_blocks, which the compiler vectorises.
#include "dropout.h"

#include <algorithm>

#include "../core/parallel.h"
#include "../core/philox.h"

namespace fastdl::cpu {

namespace {

constexpr int kBatch = 16;          // Philox blocks per batch: 64 elements
constexpr i64 kGrain = 1 << 14;     // elements per thread at least

}  // namespace

template <typename T>
void dropout_apply(T* out, const T* in, i64 n, std::uint64_t seed, std::uint32_t threshold, T scale) {
  const i64 blocks = ceil_div(n, 4);
  parallel_for(blocks, kGrain / 4, [&](i64 b0, i64 b1) {
    std::uint32_t w[4][kBatch];
    for (i64 b = b0; b < b1; b += kBatch) {
      philox_blocks<kBatch>(w, seed, std::uint64_t(b));
      const i64 e0 = 4 * b, e1 = std::min(n, 4 * std::min(b1, b + kBatch));
      if (e1 - e0 == 4 * kBatch) {
        for (int l = 0; l < kBatch; ++l)
          for (int k = 0; k < 4; ++k) {
            const i64 e = e0 + 4 * l + k;
            out[e] = in[e] * (w[k][l] >= threshold ? scale : T(0));
          }
      } else {
        for (i64 e = e0; e < e1; ++e) {
          const i64 j = e - e0;
          out[e] = in[e] * (w[j & 3][j >> 2] >= threshold ? scale : T(0));
        }
      }
    }
  });
}

template void dropout_apply<float>(float*, const float*, i64, std::uint64_t, std::uint32_t, float);
template void dropout_apply<double>(double*, const double*, i64, std::uint64_t, std::uint32_t, double);

}  // namespace fastdl::cpu
