// Philox4x32-10: the counter-based random number generator of Salmon, Moraes,
// Dror and Shaw, "Parallel Random Numbers: As Easy as 1, 2, 3" (SC'11), as in
// their Random123 library (checked against its known-answer vectors in
// tests/test_dropout.py).
//
// philox4x32_10(ctr, key) is a pure function of a 128-bit counter and a 64-bit
// key: any element's random bits can be computed on their own, in any order,
// by any thread, so results never depend on the thread count, and a backward
// pass regenerates a forward pass's bits instead of storing them.
//
// fastdl's convention for streams of random words: element i of a stream
// keyed by a 64-bit seed takes word (i % 4) of
//   philox4x32_10({lo32(i / 4), hi32(i / 4), 0, 0}, {lo32(seed), hi32(seed)}).
// (philox_word below.) The Numba backend and fastdl.reference implement the
// same function, so every backend draws the same bits.
#pragma once

#include <cstdint>

namespace fastdl {

struct Philox4x32 {
  std::uint32_t w[4];
};

// One round: two 32x32 -> 64-bit products, the Feistel-like shuffle.
inline void philox_round(std::uint32_t& c0, std::uint32_t& c1, std::uint32_t& c2,
                         std::uint32_t& c3, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint64_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  const std::uint64_t p0 = kM0 * c0, p1 = kM1 * c2;
  const std::uint32_t hi0 = std::uint32_t(p0 >> 32), lo0 = std::uint32_t(p0);
  const std::uint32_t hi1 = std::uint32_t(p1 >> 32), lo1 = std::uint32_t(p1);
  c0 = hi1 ^ c1 ^ k0;
  c1 = lo1;
  c2 = hi0 ^ c3 ^ k1;
  c3 = lo0;
}

// The ten rounds, the key bumped by the Weyl constants between rounds.
inline Philox4x32 philox4x32_10(std::uint32_t c0, std::uint32_t c1, std::uint32_t c2,
                                std::uint32_t c3, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    if (r) k0 += kW0, k1 += kW1;
    philox_round(c0, c1, c2, c3, k0, k1);
  }
  return {{c0, c1, c2, c3}};
}

// Word i of the stream keyed by `seed` (see the file comment).
inline std::uint32_t philox_word(std::uint64_t seed, std::uint64_t i) {
  const std::uint64_t block = i >> 2;
  const Philox4x32 r = philox4x32_10(std::uint32_t(block), std::uint32_t(block >> 32), 0, 0,
                                     std::uint32_t(seed), std::uint32_t(seed >> 32));
  return r.w[i & 3];
}

// The words of blocks [b0, b0 + N) of the stream keyed by `seed`, as w[k][l] =
// word k of block b0 + l (N a multiple of 8): the same rounds on vectors of 8
// blocks (GCC vector extensions; 64-bit lanes holding 32-bit values, so the
// products are plain 64-bit multiplies). Each including file's ISA flags pick
// the instructions: one vpmullq per 8 products with AVX-512DQ, vpmuludq
// sequences with AVX2/SSE2. Bit-identical to philox_word.
template <int N>
inline void philox_blocks(std::uint32_t (&w)[4][N], std::uint64_t seed, std::uint64_t b0) {
  static_assert(N % 8 == 0, "philox_blocks: N must be a multiple of 8");
  typedef std::uint64_t u64x8 __attribute__((vector_size(64)));
  constexpr int V = N / 8;
  constexpr std::uint64_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kLo = 0xFFFFFFFFu;
  constexpr std::uint64_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  std::uint64_t k0 = seed & kLo, k1 = seed >> 32;
  u64x8 c0[V], c1[V], c2[V], c3[V];
  for (int v = 0; v < V; ++v)
    for (int l = 0; l < 8; ++l) {
      const std::uint64_t b = b0 + std::uint64_t(8 * v + l);
      c0[v][l] = b & kLo, c1[v][l] = b >> 32, c2[v][l] = 0, c3[v][l] = 0;
    }
  for (int r = 0; r < 10; ++r) {
    if (r) k0 = (k0 + kW0) & kLo, k1 = (k1 + kW1) & kLo;
    for (int v = 0; v < V; ++v) {
      const u64x8 p0 = kM0 * c0[v], p1 = kM1 * c2[v];
      c0[v] = (p1 >> 32) ^ c1[v] ^ k0;
      c1[v] = p1 & kLo;
      c2[v] = (p0 >> 32) ^ c3[v] ^ k1;
      c3[v] = p0 & kLo;
    }
  }
  for (int v = 0; v < V; ++v)
    for (int l = 0; l < 8; ++l)
      w[0][8 * v + l] = std::uint32_t(c0[v][l]), w[1][8 * v + l] = std::uint32_t(c1[v][l]),
      w[2][8 * v + l] = std::uint32_t(c2[v][l]), w[3][8 * v + l] = std::uint32_t(c3[v][l]);
}

}  // namespace fastdl
