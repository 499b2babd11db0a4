// The dropout kernel body (contract: dropout.h), compiled once per ISA:
// dropout.cpp (generic), dropout_avx2.cpp and dropout_avx512.cpp include it
// inside their own anonymous namespace (Note [ISA files] in core/isa.h); the
// Philox rounds (core/philox.h) vectorise with each file's flags.
//
// Threads split the element range at multiples of 4 (one Philox block of four
// words). Each batch of kBatch blocks is generated, laid out in element order
// (word k of block l is element 4 l + k), and applied by a plain loop.

constexpr int kBatch = 16;          // Philox blocks per batch: 64 elements
constexpr i64 kGrain = 1 << 14;     // elements per thread at least

template <typename T>
void dropout_apply_impl(T* out, const T* in, i64 n, std::uint64_t seed, std::uint32_t threshold,
                        T scale) {
  const i64 blocks = ceil_div(n, 4);
  parallel_for(blocks, kGrain / 4, [&](i64 b0, i64 b1) {
    // locals, not the captured references: the compiler may not assume that
    // stores to out leave them unchanged, and would branch per element
    const std::uint32_t thr = threshold;
    const T s = scale;
    std::uint32_t w[4][kBatch];
    alignas(64) std::uint32_t words[4 * kBatch];
    for (i64 b = b0; b < b1; b += kBatch) {
      philox_blocks<kBatch>(w, seed, std::uint64_t(b));
      for (int l = 0; l < kBatch; ++l)
        for (int k = 0; k < 4; ++k) words[4 * l + k] = w[k][l];
      const i64 e0 = 4 * b, len = std::min(n, 4 * std::min(b1, b + kBatch)) - e0;
      T* __restrict o = out + e0;
      const T* __restrict x = in + e0;
      if (len == 4 * kBatch) {
        for (int j = 0; j < 4 * kBatch; ++j) o[j] = x[j] * (words[j] >= thr ? s : T(0));
      } else {
        for (i64 j = 0; j < len; ++j) o[j] = x[j] * (words[j] >= thr ? s : T(0));
      }
    }
  });
}
