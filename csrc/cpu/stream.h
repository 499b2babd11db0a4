// Non-temporal ("streaming") stores for large outputs of memory-bound kernels.
//
// A normal store to a line that is not cached first reads the line (write
// allocate), so writing an output costs its bytes twice in memory traffic. A
// streaming store writes whole 64-byte lines through write-combining buffers
// without that read, and does not keep the line in cache. That is a gain only
// when the output would not stay cached for its reader anyway: outputs of at
// least kStreamMinBytes (a quarter of the 32 MiB L3: such a pass also reads
// at least as many bytes, and the next layer's other inputs compete for the
// rest) stream; smaller ones keep normal stores so the next layer finds them
// in cache. The store kind never changes a value.
//
// Only the full, 64-byte-aligned lines of an output stream; its unaligned
// head and partial tail take normal stores. Streaming stores are weakly
// ordered: a thread that used them calls stream_fence() before its part of a
// parallel region ends.
//
// The helpers depend on the including file's ISA flags, so they have internal
// linkage (Note [ISA files] in core/isa.h): AVX-512 and AVX2 files stream with
// their register width, baseline files with SSE2 (part of x86-64).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../core/common.h"
#include "vec.h"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace fastdl::cpu {

constexpr i64 kStreamMinBytes = i64{8} << 20;

namespace {  // internal linkage: see Note [ISA files]

// Whether an output of n values of T streams.
template <typename T>
bool stream_output(i64 n) {
  return n >= kStreamMinBytes / i64(sizeof(T));
}

constexpr i64 kLineBytes = 64;

// Values of T before p reaches a 64-byte boundary (all n when p is not even
// T-aligned, so that nothing streams).
template <typename T>
i64 stream_head(const T* p, i64 n) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  if (a % sizeof(T)) return n;
  const i64 h = i64((kLineBytes - a % kLineBytes) % kLineBytes) / i64(sizeof(T));
  return h < n ? h : n;
}

inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

// Non-temporal copy of n values (a multiple of a line) from src to dst, dst
// 64-byte aligned (src any T-aligned address).
template <typename T>
void stream_copy_lines(T* __restrict dst, const T* __restrict src, i64 n) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  float* d = reinterpret_cast<float*>(dst);
  const float* s = reinterpret_cast<const float*>(src);
  const i64 nf = n * i64(sizeof(T) / sizeof(float));
#if defined(__AVX512F__)
  for (i64 i = 0; i < nf; i += 16) _mm512_stream_ps(d + i, _mm512_loadu_ps(s + i));
#elif defined(__AVX__)
  for (i64 i = 0; i < nf; i += 8) _mm256_stream_ps(d + i, _mm256_loadu_ps(s + i));
#elif defined(__SSE2__)
  for (i64 i = 0; i < nf; i += 4) _mm_stream_ps(d + i, _mm_loadu_ps(s + i));
#else
  std::memcpy(d, s, size_t(nf) * sizeof(float));
#endif
}

// y (n,): f(out, i0, len) sets out[0, len) to the values [i0, i0 + len) of y.
// Without stream, or for runs shorter than kStreamMinRun values: f(y, 0, n).
// With stream: the head up to a 64-byte boundary and the tail after the last
// full line are written in place, the lines in between through an L1 buffer
// of kStreamChunk bytes copied out with streaming stores (f computes each
// value the same way in either case). Short runs lose: layer_norm's rows of
// 512 floats, one buffer each, took 2.3 ms backward instead of 1.2 (1024 and
// longer gain; docs/decisions.md).
constexpr i64 kStreamChunk = 2048;
constexpr i64 kStreamMinRun = 1024;

template <typename T, typename F>
void write_out(T* y, i64 n, bool stream, const F& f) {
  if (!stream || n < kStreamMinRun) {
    f(y, i64{0}, n);
    return;
  }
  constexpr i64 kLine = kLineBytes / i64(sizeof(T)), kChunk = kStreamChunk / i64(sizeof(T));
  const i64 head = stream_head(y, n);
  if (head) f(y, i64{0}, head);
  i64 i = head;
  alignas(64) T buf[kChunk];
  while (n - i >= kLine) {
    const i64 rest = (n - i) / kLine * kLine, len = rest < kChunk ? rest : kChunk;
    f(buf, i, len);
    stream_copy_lines(y + i, buf, len);
    i += len;
  }
  if (i < n) f(y + i, i, n - i);
}

// Streaming store of one full vector-interface register (vec.h) to p, aligned
// to the register size; a plain store where the ISA has no streaming store of
// that register (the portable Scalar<T>).
template <class M>
void stream_reg(typename M::T* p, typename M::reg v) {
  using reg [[maybe_unused]] = typename M::reg;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<reg, __m512>) {
    _mm512_stream_ps(p, v);
    return;
  } else if constexpr (std::is_same_v<reg, __m512d>) {
    _mm512_stream_pd(p, v);
    return;
  }
#endif
#if defined(__AVX__)
  if constexpr (std::is_same_v<reg, __m256>) {
    _mm256_stream_ps(p, v);
    return;
  } else if constexpr (std::is_same_v<reg, __m256d>) {
    _mm256_stream_pd(p, v);
    return;
  }
#endif
  M::store(p, v);
}

// y (n,) = f(j, w) for the w lanes at each offset j, like for_vectors +
// store_w; with stream, the vectors between the first 64-byte boundary and
// the last full vector stream (see the file comment), the head and tail take
// (partial) normal stores.
template <class M, class F>
void store_vectors(typename M::T* y, i64 n, bool stream, const F& f) {
  constexpr i64 W = M::W;
  i64 j = 0;
  if (stream) {
    const i64 head = stream_head(y, n);
    while (j < head) {
      const i64 w = head - j < W ? head - j : W;
      store_w<M>(y + j, f(j, w), w);
      j += w;
    }
    for (; j + W <= n; j += W) stream_reg<M>(y + j, f(j, W));
  }
  for (; j + W <= n; j += W) M::store(y + j, f(j, W));
  if (j < n) M::store_n(y + j, f(j, n - j), n - j);
}

}  // namespace
}  // namespace fastdl::cpu
